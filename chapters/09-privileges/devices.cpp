// devices.cpp - see devices.hpp.
#include "devices.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>

namespace minidocker {

//! [ch09-devices]
const std::vector<DeviceRule>& docker_default_devices() {
    static const std::vector<DeviceRule> rules = {
        {'c', -1, -1, "m"},     // mknod of any character device: making one is harmless...
        {'b', -1, -1, "m"},     // ... or block device; using it is what the rest decides
        {'c', 1, 3, "rwm"},     // /dev/null
        {'c', 1, 5, "rwm"},     // /dev/zero
        {'c', 1, 7, "rwm"},     // /dev/full
        {'c', 1, 8, "rwm"},     // /dev/random
        {'c', 1, 9, "rwm"},     // /dev/urandom
        {'c', 5, 0, "rwm"},     // /dev/tty
        {'c', 5, 1, "rwm"},     // /dev/console
        {'c', 5, 2, "rwm"},     // /dev/ptmx
        {'c', 136, -1, "rwm"},  // /dev/pts/N
    };
    // Not there, so refused: /dev/kmsg (1:11: the host's kernel log), /dev/mem
    // and /dev/port (1:1, 1:4: the machine's memory), every disk (block
    // devices), /dev/fuse, /dev/net/tun...
    return rules;
}
//! [ch09-devices]

std::string v1_rule(const DeviceRule& rule) {
    auto number = [](int n) { return n < 0 ? std::string("*") : std::to_string(n); };
    return fmt::format("{} {}:{} {}", rule.type, number(rule.major), number(rule.minor), rule.access);
}

namespace {

// The eBPF instructions the program needs (linux/bpf.h, "struct bpf_insn").
sys::BpfInsn load_u32(int dst, int src, int16_t off) {
    return {BPF_LDX | BPF_MEM | BPF_W, static_cast<uint8_t>(dst | (src << 4)), off, 0};
}
sys::BpfInsn op_imm(uint8_t op, int dst, int32_t imm) {
    return {static_cast<uint8_t>(BPF_ALU64 | op | BPF_K), static_cast<uint8_t>(dst), 0, imm};
}
sys::BpfInsn mov_reg(int dst, int src) {
    return {BPF_ALU64 | BPF_MOV | BPF_X, static_cast<uint8_t>(dst | (src << 4)), 0, 0};
}
// if dst != imm: skip the rest of the rule (the offset is set once the rule is whole)
sys::BpfInsn jne_imm(int dst, int32_t imm) { return {BPF_JMP | BPF_JNE | BPF_K, static_cast<uint8_t>(dst), 0, imm}; }
sys::BpfInsn jne_reg(int dst, int src) {
    return {BPF_JMP | BPF_JNE | BPF_X, static_cast<uint8_t>(dst | (src << 4)), 0, 0};
}
sys::BpfInsn exit_insn() { return {BPF_JMP | BPF_EXIT, 0, 0, 0}; }

int access_mask(const std::string& access) {
    int mask = 0;
    for (char c : access) {
        mask |= c == 'r' ? BPF_DEVCG_ACC_READ : c == 'w' ? BPF_DEVCG_ACC_WRITE : c == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
    }
    return mask;
}

}  // namespace

//! [ch09-device-program]
// The kernel hands the program a struct bpf_cgroup_dev_ctx in r1:
// access_type (access << 16 | type) at 0, major at 4, minor at 8.
// Registers: r2 = type, r3 = access asked for, r4 = major, r5 = minor.
// Each rule is a block that jumps past itself at the first mismatch and
// otherwise returns 1; after the last block, the answer is 0: refused.
std::vector<sys::BpfInsn> device_program(const std::vector<DeviceRule>& allowed) {
    std::vector<sys::BpfInsn> p = {
        load_u32(2, 1, 0), op_imm(BPF_AND, 2, 0xffff),  // r2 = type
        load_u32(3, 1, 0), op_imm(BPF_RSH, 3, 16),      // r3 = access
        load_u32(4, 1, 4),                              // r4 = major
        load_u32(5, 1, 8),                              // r5 = minor
    };
    for (const DeviceRule& rule : allowed) {
        std::vector<size_t> jumps;  // the block's "no match" jumps, to its end
        if (rule.type != 'a') {
            jumps.push_back(p.size());
            p.push_back(jne_imm(2, rule.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
        }
        // Every access asked for must be allowed: (r3 & allowed) == r3.
        p.push_back(mov_reg(1, 3));
        p.push_back(op_imm(BPF_AND, 1, access_mask(rule.access)));
        jumps.push_back(p.size());
        p.push_back(jne_reg(1, 3));
        if (rule.major >= 0) {
            jumps.push_back(p.size());
            p.push_back(jne_imm(4, rule.major));
        }
        if (rule.minor >= 0) {
            jumps.push_back(p.size());
            p.push_back(jne_imm(5, rule.minor));
        }
        p.push_back(op_imm(BPF_MOV, 0, 1));  // allowed
        p.push_back(exit_insn());
        for (size_t j : jumps) {
            p[j].off = static_cast<int16_t>(p.size() - j - 1);
        }
    }
    p.push_back(op_imm(BPF_MOV, 0, 0));  // no rule matched: refused
    p.push_back(exit_insn());
    return p;
}
//! [ch09-device-program]

}  // namespace minidocker
