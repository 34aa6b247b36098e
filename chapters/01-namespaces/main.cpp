// ch01 - chapter 01: a container is a process in new namespaces.
#include "namespaces.hpp"

int main(int argc, char** argv) {
    minidocker::Runtime rt{"01", "namespaces"};
    rt.add<minidocker::Namespaces>();  // 01
    return rt.main(argc, argv);
}
