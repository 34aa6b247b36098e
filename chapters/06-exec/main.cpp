// ch06 - chapter 06: detached containers, and exec by setns().
#include "cgroups.hpp"
#include "lifecycle.hpp"
#include "namespaces.hpp"
#include "overlay.hpp"
#include "rootfs.hpp"
#include "volumes.hpp"

int main(int argc, char** argv) {
    minidocker::Runtime rt{"06", "exec"};
    rt.add<minidocker::Namespaces>();  // 01
    rt.add<minidocker::Cgroups>();     // 02
    rt.add<minidocker::RootFs>();      // 03
    rt.add<minidocker::Images>();      // 04
    rt.add<minidocker::Volumes>();     // 05
    rt.add<minidocker::Lifecycle>();   // 06
    return rt.main(argc, argv);
}
