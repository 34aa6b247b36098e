// ch02 - chapter 02: cgroups limit what a container may use.
#include "cgroups.hpp"
#include "namespaces.hpp"

int main(int argc, char** argv) {
    minidocker::Runtime rt{"02", "cgroups"};
    rt.add<minidocker::Namespaces>();  // 01
    rt.add<minidocker::Cgroups>();     // 02
    return rt.main(argc, argv);
}
