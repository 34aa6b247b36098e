// Chapter 08's claims, proven from outside: a container's network is its
// network namespace. By default (and with --net none) it gets a namespace
// of its own (another /proc/PID/ns/net inode than the host's) holding only
// `lo`, up, so a server on the host's 127.0.0.1 is out of its reach while the
// host reaches it. --net host (also --net=host, --network host) keeps the
// host's namespace, the very inode: the host's interfaces, its 127.0.0.1 both
// ways, its hostname and /etc/hosts, while the PID, mount, UTS and IPC
// namespaces stay the container's own. --net container:NAME joins NAME's
// namespace: one 127.0.0.1 for both, NAME's hostname and /etc/hosts, yet
// PID, mount and UTS namespaces of its own. inspect names the mode and the
// namespace's path; --trace shows the decision and the clone() flags; bad
// modes are one line, exit 125, and create nothing. All traffic stays on
// loopback: the host's, or that of the namespaces the tests create.
// These tests also run against every later chapter's binary.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace minidocker::test;

namespace {

// The namespaces a container keeps its own of, whatever its network.
const std::vector<std::string> kOwnNotNet = {"pid", "mnt", "uts", "ipc"};

std::string host_hostname() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}

std::string host_net() { return ns_link("self", "net"); }

// readlink(path) ("" when it fails).
std::string link_target(const std::string& path) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

pid_t init_pid(const std::string& name) {
    Result r = runtime({"inspect", "-f", "{{.State.Pid}}", name});
    EXPECT_EQ(r.code, 0) << r.err;
    return static_cast<pid_t>(std::atol(r.out.c_str()));
}

std::string inspect_format(const std::string& name, const std::string& tmpl) {
    Result r = runtime({"inspect", "-f", tmpl, name});
    EXPECT_EQ(r.code, 0) << "inspect -f " << tmpl << " " << name << ": " << r.err;
    return trim(r.out);
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::string joined(const std::vector<std::string>& words) {
    std::string out;
    for (const std::string& w : words) {
        out += (out.empty() ? "" : " ") + w;
    }
    return out;
}

// `ip -o link` (iproute2's or busybox's) as name -> flags:
// "2: eth0@if7: <BROADCAST,UP,LOWER_UP> mtu ..." -> {"eth0", "BROADCAST,UP,LOWER_UP"}.
std::map<std::string, std::string> links_of(const std::string& ip_o_link) {
    std::map<std::string, std::string> links;
    for (const std::string& line : lines(ip_o_link)) {
        std::istringstream in(line);
        std::string index, name, flags;
        if (!(in >> index >> name >> flags) || name.empty() || name.back() != ':') {
            continue;
        }
        name.pop_back();
        name = name.substr(0, name.find('@'));
        if (flags.size() >= 2 && flags.front() == '<' && flags.back() == '>') {
            flags = flags.substr(1, flags.size() - 2);
        }
        links[name] = flags;
    }
    return links;
}

std::set<std::string> names(const std::map<std::string, std::string>& links) {
    std::set<std::string> out;
    for (const auto& [name, flags] : links) {
        out.insert(name);
    }
    return out;
}

bool has_flag(const std::string& flags, const std::string& flag) {
    std::istringstream in(flags);
    for (std::string f; std::getline(in, f, ',');) {
        if (f == flag) {
            return true;
        }
    }
    return false;
}

// The interfaces of the network namespace `pid` is in, as the kernel lists
// them in /proc/PID/net/dev ("  eth0: 1234 ..." after two header lines).
std::set<std::string> interfaces_of(pid_t pid) {
    std::set<std::string> out;
    std::vector<std::string> all = lines(read_file("/proc/" + std::to_string(pid) + "/net/dev"));
    for (size_t i = 2; i < all.size(); ++i) {
        std::string l = trim(all[i]);
        out.insert(l.substr(0, l.find(':')));
    }
    return out;
}

// True when a TCP socket listens on `port` in the network namespace of
// `pid` (its /proc/PID/net/tcp or tcp6: local address "HEX:PORT", state 0A).
bool listening(pid_t pid, int port) {
    for (const char* table : {"tcp", "tcp6"}) {
        std::vector<std::string> all = lines(read_file("/proc/" + std::to_string(pid) + "/net/" + table));
        for (size_t i = 1; i < all.size(); ++i) {
            std::istringstream in(all[i]);
            std::string slot, local, remote, state;
            in >> slot >> local >> remote >> state;
            size_t colon = local.rfind(':');
            if (state == "0A" && colon != std::string::npos &&
                std::stoi(local.substr(colon + 1), nullptr, 16) == port) {
                return true;
            }
        }
    }
    return false;
}

// A socket bound to 127.0.0.1:0 on the host: the kernel picks a free port.
int bound_loopback_socket(int* port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
        ADD_FAILURE() << "cannot bind a socket to 127.0.0.1:0";
        if (fd >= 0) {
            ::close(fd);
        }
        return -1;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

// A port that is free on the host now (for a server a container starts).
int free_port() {
    int port = 0;
    int fd = bound_loopback_socket(&port);
    if (fd >= 0) {
        ::close(fd);
    }
    return port;
}

// A TCP server on the host's 127.0.0.1 (the test runs in the host's network
// namespace): a child process that answers each connection with `reply` and
// closes it. Killed and reaped on destruction, also when the test fails (and
// killed by the kernel should the test process die).
class HostServer {
public:
    explicit HostServer(const std::string& reply) {
        int fd = bound_loopback_socket(&port_);
        if (fd < 0 || ::listen(fd, 16) != 0) {
            ADD_FAILURE() << "cannot listen on 127.0.0.1:" << port_;
            return;
        }
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (;;) {
                int c = ::accept(fd, nullptr, nullptr);
                if (c >= 0) {
                    [[maybe_unused]] ssize_t n = ::write(c, reply.data(), reply.size());
                    ::close(c);
                }
            }
        }
        ::close(fd);
        EXPECT_GT(pid_, 0) << "fork failed";
    }
    ~HostServer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    HostServer(const HostServer&) = delete;
    HostServer& operator=(const HostServer&) = delete;

    int port() const { return port_; }

private:
    int port_ = 0;
    pid_t pid_ = -1;
};

// Connects from the test (the host's network) to 127.0.0.1:port, sends
// `request`, and returns all the server sends until it closes; nothing when
// the connection fails.
std::optional<std::string> talk_from_host(int port, const std::string& request = "") {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return std::nullopt;
    }
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    if (!request.empty()) {
        [[maybe_unused]] ssize_t n = ::write(fd, request.data(), request.size());
    }
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
        got.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return got;
}

// The body of GET /t from an HTTP server on the host's 127.0.0.1:port
// (nothing when the connection fails, or the status is not 200).
std::optional<std::string> http_get_from_host(int port) {
    std::optional<std::string> reply = talk_from_host(port, "GET /t HTTP/1.0\r\n\r\n");
    if (!reply || reply->rfind("HTTP/1.", 0) != 0 || !contains(reply->substr(0, reply->find('\n')), " 200 ")) {
        return std::nullopt;
    }
    size_t body = reply->find("\r\n\r\n");
    return body == std::string::npos ? std::nullopt : std::optional<std::string>(reply->substr(body + 4));
}

// Docker-style args for a detached busybox HTTP server that serves `text`
// as /t on 127.0.0.1:port of the container's network: loopback only.
std::vector<std::string> http_server(int port, const std::string& text) {
    return {"busybox", "sh", "-c",
            "mkdir -p /www && echo " + text + " > /www/t && exec httpd -f -p 127.0.0.1:" + std::to_string(port) +
                " -h /www"};
}

// The ids of all containers, running or not.
std::set<std::string> all_containers() {
    Result r = runtime({"ps", "-aq", "--no-trunc"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<std::string> all = lines(r.out);
    return std::set<std::string>(all.begin(), all.end());
}

}  // namespace

// Claim: without --net, and with --net none (also --network none), a
// container gets a network namespace of its own, another for each: from
// outside, its PID 1's /proc/PID/ns/net is not the host's (nor the other's)
// and /proc/PID/net/dev lists `lo` alone. Inside, `ip link` shows `lo` only,
// and up; a server listening on the host's 127.0.0.1:PORT, which the host
// reaches, is unreachable: the container's 127.0.0.1 is its own.
TEST(Ch08Network, NoneHasOnlyLoopbackAndCannotReachTheHost) {
    MINIDOCKER_REQUIRE_ROOT();
    HostServer server("from-the-host\n");
    ASSERT_GT(server.port(), 0);
    std::string port = std::to_string(server.port());
    ASSERT_EQ(talk_from_host(server.port()), "from-the-host\n") << "the host cannot reach its own server";

    const std::vector<std::vector<std::string>> spellings = {{}, {"--net", "none"}, {"--network", "none"}};
    std::set<std::string> namespaces;
    for (size_t i = 0; i < spellings.size(); ++i) {
        SCOPED_TRACE("run " + joined(spellings[i]));
        std::string name = "n" + std::to_string(i);
        ASSERT_FALSE(
            run_detached(concat(concat({"--name", name}, spellings[i]), {"busybox", "sleep", "1000"})).empty());
        pid_t pid = init_pid(name);
        ASSERT_GT(pid, 0);
        std::string net = ns_link(std::to_string(pid), "net");
        EXPECT_EQ(net.rfind("net:[", 0), 0u) << net;
        EXPECT_NE(net, host_net());
        namespaces.insert(net);
        EXPECT_EQ(interfaces_of(pid), std::set<std::string>{"lo"})
            << read_file("/proc/" + std::to_string(pid) + "/net/dev");

        // The container's own command (PID 1 of a foreground run) sees the
        // same: lo alone, up; and nothing listens on its 127.0.0.1:PORT.
        Result r = runtime(concat(concat({"run", "--rm"}, spellings[i]),
                                  {"busybox", "sh", "-c",
                                   "ip -o link; echo ---; nc -w 2 127.0.0.1 " + port + " </dev/null; echo nc=$?"}),
                           20);
        ASSERT_EQ(r.code, 0) << r.err;
        size_t split = r.out.find("---\n");
        ASSERT_NE(split, std::string::npos) << r.out;
        std::map<std::string, std::string> links = links_of(r.out.substr(0, split));
        EXPECT_EQ(names(links), std::set<std::string>{"lo"}) << r.out;
        EXPECT_TRUE(has_flag(links["lo"], "UP")) << "lo is not up: " << r.out;
        std::string after = r.out.substr(split + 4);
        EXPECT_FALSE(contains(after, "from-the-host")) << "the container reached the host's server:\n" << r.out;
        EXPECT_FALSE(contains(after, "nc=0")) << r.out << r.err;
        EXPECT_TRUE(contains(after, "nc=")) << r.out;

        // ... and so does a process exec'd into the running one.
        r = runtime({"exec", name, "ip", "-o", "link"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(names(links_of(r.out)), std::set<std::string>{"lo"}) << r.out;
    }
    EXPECT_EQ(namespaces.size(), spellings.size()) << "two containers share a network namespace";
    // The server was up all along.
    EXPECT_EQ(talk_from_host(server.port()), "from-the-host\n");
}

// Claim: --net host (and --net=host, --network host) creates no network
// namespace: the container's PID 1 is in the test's own (the host's) net
// namespace, the very inode, while its PID, mount, UTS and IPC namespaces
// are its own. It lists the host's interfaces, reaches a server on the
// host's 127.0.0.1, and a server it starts on 127.0.0.1 is listed in the
// host's socket table and answers the host. Its hostname is the host's and
// its /etc/hosts is a copy of the host's.
TEST(Ch08Network, HostSharesTheHostsNetworkOnly) {
    MINIDOCKER_REQUIRE_ROOT();
    HostServer server("from-the-host\n");
    ASSERT_GT(server.port(), 0);
    std::set<std::string> host_links = names_in("/sys/class/net");
    Result host_ip = run({"ip", "-o", "link"});
    ASSERT_EQ(host_ip.code, 0) << host_ip.err;
    ASSERT_EQ(names(links_of(host_ip.out)), host_links) << host_ip.out;

    const std::vector<std::vector<std::string>> spellings = {{"--net", "host"}, {"--net=host"}, {"--network", "host"}};
    for (size_t i = 0; i < spellings.size(); ++i) {
        SCOPED_TRACE("run " + joined(spellings[i]));
        std::string name = "h" + std::to_string(i);
        std::string text = "from-container-" + name;
        int port = free_port();
        ASSERT_GT(port, 0);
        ASSERT_FALSE(run_detached(concat(concat({"--name", name}, spellings[i]), http_server(port, text))).empty());
        pid_t pid = init_pid(name);
        ASSERT_GT(pid, 0);
        std::string p = std::to_string(pid);
        EXPECT_EQ(ns_link(p, "net"), host_net());
        for (const std::string& type : kOwnNotNet) {
            EXPECT_NE(ns_link(p, type), "") << type;
            EXPECT_NE(ns_link(p, type), ns_link("self", type)) << type << " is the host's";
        }

        // The container's server is a socket of the host's network: in the
        // test's own table, and answering on the host's 127.0.0.1.
        EXPECT_TRUE(wait_until([&] { return listening(::getpid(), port); }, 5))
            << "httpd in the container does not listen on the host's port " << port;
        EXPECT_EQ(http_get_from_host(port), text + "\n");

        // Inside: the host's interfaces, the host's server.
        Result r = runtime({"exec", name, "ip", "-o", "link"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(names(links_of(r.out)), host_links) << r.out;
        EXPECT_EQ(interfaces_of(pid), host_links);
        r = runtime({"exec", name, "nc", "-w", "2", "127.0.0.1", std::to_string(server.port())}, 20);
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, "from-the-host\n") << r.err;

        // The host's name, and its /etc/hosts.
        r = runtime({"exec", name, "hostname"});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.out, host_hostname() + "\n");
        EXPECT_EQ(inspect_format(name, "{{.Config.Hostname}}"), host_hostname());
        std::string hosts = read_file("/proc/" + p + "/root/etc/hosts");
        EXPECT_FALSE(hosts.empty());
        EXPECT_EQ(hosts, read_file("/etc/hosts"));

        EXPECT_EQ(runtime({"rm", "-f", name}).code, 0);
        EXPECT_TRUE(wait_until([&] { return !listening(::getpid(), port); }, 5))
            << "port " << port << " still listens after rm -f";
    }
}

// Claim: with --net container:a, b is in a's network namespace (the same
// inode, not the host's) and reaches a's server on 127.0.0.1, both as b's
// own command and through exec; its PID, mount, UTS and IPC namespaces stay
// its own (b's processes do not include a's server); its hostname and
// /etc/hosts are a's.
TEST(Ch08Network, ContainerModeSharesOneNetworkNamespace) {
    MINIDOCKER_REQUIRE_ROOT();
    int port = free_port();
    ASSERT_GT(port, 0);
    std::string url = "http://127.0.0.1:" + std::to_string(port) + "/t";
    ASSERT_FALSE(run_detached(concat({"--name", "a"}, http_server(port, "from-a"))).empty());
    pid_t pa = init_pid("a");
    ASSERT_GT(pa, 0);
    ASSERT_TRUE(wait_until([&] { return listening(pa, port); }, 5)) << "a's httpd does not listen";
    ASSERT_FALSE(run_detached({"--name", "b", "--net", "container:a", "busybox", "sleep", "1000"}).empty());
    pid_t pb = init_pid("b");
    ASSERT_GT(pb, 0);
    std::string a = std::to_string(pa);
    std::string b = std::to_string(pb);

    EXPECT_EQ(ns_link(b, "net"), ns_link(a, "net"));
    EXPECT_NE(ns_link(b, "net"), host_net());
    EXPECT_TRUE(listening(pb, port)) << "b's network does not hold a's listening socket";
    for (const std::string& type : kOwnNotNet) {
        EXPECT_NE(ns_link(b, type), "") << type;
        EXPECT_NE(ns_link(b, type), ns_link(a, type)) << type << " is a's";
        EXPECT_NE(ns_link(b, type), ns_link("self", type)) << type << " is the host's";
    }

    // b talks to a over their one 127.0.0.1.
    Result r = runtime({"exec", "b", "wget", "-q", "-O", "-", url}, 20);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "from-a\n");
    r = runtime({"run", "--rm", "--net", "container:a", "busybox", "wget", "-q", "-O", "-", url}, 20);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "from-a\n");

    // b's own processes: its sleep is its PID 1, a's httpd is not there.
    r = runtime({"exec", "b", "ps", "-o", "pid,comm"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(contains(r.out, "httpd")) << r.out;
    EXPECT_TRUE(contains(r.out, "sleep")) << r.out;

    // a's name and /etc/hosts.
    std::string hostname = inspect_format("a", "{{.Config.Hostname}}");
    EXPECT_FALSE(hostname.empty());
    r = runtime({"exec", "b", "hostname"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, hostname + "\n");
    EXPECT_EQ(runtime({"exec", "a", "hostname"}).out, hostname + "\n");
    EXPECT_EQ(inspect_format("b", "{{.Config.Hostname}}"), hostname);
    std::string hosts = read_file("/proc/" + b + "/root/etc/hosts");
    EXPECT_TRUE(contains(hosts, hostname)) << hosts;
    EXPECT_EQ(hosts, read_file("/proc/" + a + "/root/etc/hosts"));
}

// Claim: inspect shows Docker's HostConfig.NetworkMode ("none" by default
// and with --net none, "host", "container:a") and NetworkSettings.SandboxKey,
// /proc/PID/ns/net with the container's State.Pid: a path that leads to the
// network namespace the kernel says its PID 1 is in.
TEST(Ch08Network, InspectShowsTheNetworkModeAndNamespace) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "a", "--net", "none", "busybox", "sleep", "1000"}).empty());
    ASSERT_FALSE(run_detached({"--name", "d", "busybox", "sleep", "1000"}).empty());
    ASSERT_FALSE(run_detached({"--name", "h", "--net", "host", "busybox", "sleep", "1000"}).empty());
    ASSERT_FALSE(run_detached({"--name", "c", "--net", "container:a", "busybox", "sleep", "1000"}).empty());
    const std::map<std::string, std::string> modes = {
        {"a", "none"}, {"d", "none"}, {"h", "host"}, {"c", "container:a"}};
    std::string net_of_a = ns_link(std::to_string(init_pid("a")), "net");
    const std::map<std::string, std::string> nets = {{"a", net_of_a}, {"d", ""}, {"h", host_net()}, {"c", net_of_a}};

    for (const auto& [name, mode] : modes) {
        SCOPED_TRACE("container " + name);
        Result r = runtime({"inspect", name});
        ASSERT_EQ(r.code, 0) << r.err;
        nlohmann::json all = nlohmann::json::parse(r.out, nullptr, false);
        ASSERT_TRUE(all.is_array() && all.size() == 1u) << r.out;
        const nlohmann::json& j = all[0];
        ASSERT_TRUE(j.contains("HostConfig") && j.contains("NetworkSettings") && j.contains("State")) << r.out;
        EXPECT_EQ(j["HostConfig"].value("NetworkMode", ""), mode) << r.out;
        pid_t pid = j["State"].value("Pid", 0);
        ASSERT_GT(pid, 0) << r.out;
        std::string key = j["NetworkSettings"].value("SandboxKey", "");
        EXPECT_EQ(key, "/proc/" + std::to_string(pid) + "/ns/net") << r.out;
        // The path leads to the namespace the kernel says PID 1 is in.
        std::string net = link_target(key);
        EXPECT_EQ(net.rfind("net:[", 0), 0u) << key << " -> " << net;
        if (!nets.at(name).empty()) {
            EXPECT_EQ(net, nets.at(name));
        } else {
            EXPECT_NE(net, host_net());
            EXPECT_NE(net, net_of_a);
        }
        EXPECT_EQ(inspect_format(name, "{{.HostConfig.NetworkMode}}"), mode);
        EXPECT_EQ(inspect_format(name, "{{.NetworkSettings.SandboxKey}}"), key);
    }
}

// Claim: with --trace, chapter 08 says what it decided, in lines from
// "[08 network]": none is a new namespace (CLONE_NEWNET); host is no
// CLONE_NEWNET and names the host's namespace inode; container:a is no
// CLONE_NEWNET, the open() of a's /proc/PID/ns/net with a's inode, and the
// setns() into it. The clone() that chapter 01 traces agrees: CLONE_NEWNET
// for none only.
TEST(Ch08Network, TraceShowsTheNetworkDecision) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "a", "busybox", "sleep", "1000"}).empty());
    pid_t pa = init_pid("a");
    ASSERT_GT(pa, 0);
    std::string a_net = ns_link(std::to_string(pa), "net");
    std::string a_path = "/proc/" + std::to_string(pa) + "/ns/net";

    struct Case {
        std::vector<std::string> net;
        std::vector<std::string> says;  // each in one "[08 network]" line
        bool new_net;                   // clone() gets CLONE_NEWNET
    };
    const std::vector<Case> cases = {
        {{}, {"network: none: a new network namespace (CLONE_NEWNET)"}, true},
        {{"--net", "none"}, {"network: none: a new network namespace (CLONE_NEWNET)"}, true},
        {{"--net", "host"}, {"network: host: no CLONE_NEWNET", host_net()}, false},
        {{"--net", "container:a"}, {"network: container:a: no CLONE_NEWNET; open(\"" + a_path + "\")", a_net}, false},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE("run " + joined(c.net));
        Result r = run(with_trace(concat(concat({"run", "--rm"}, c.net), {"busybox", "true"})));
        ASSERT_EQ(r.code, 0) << r.err;
        std::vector<std::string> all = lines(r.err);
        auto network_line = std::find_if(all.begin(), all.end(), [&](const std::string& l) {
            return l.rfind("[08 network] network: ", 0) == 0 &&
                   std::all_of(c.says.begin(), c.says.end(), [&](const std::string& s) { return contains(l, s); });
        });
        EXPECT_NE(network_line, all.end()) << "no [08 network] line with all of: " << joined(c.says) << "\n" << r.err;
        auto clone_line = std::find_if(all.begin(), all.end(), [](const std::string& l) {
            return contains(l, "] clone") && contains(l, "CLONE_NEWPID");
        });
        ASSERT_NE(clone_line, all.end()) << r.err;
        EXPECT_EQ(contains(*clone_line, "CLONE_NEWNET"), c.new_net) << *clone_line;
        bool setns = std::any_of(all.begin(), all.end(), [&](const std::string& l) {
            return l.rfind("[08 network] setns(", 0) == 0 && contains(l, a_path) && contains(l, "CLONE_NEWNET") &&
                   contains(l, "= 0");
        });
        EXPECT_EQ(setns, c.net.size() == 2 && c.net[1] == "container:a") << r.err;
    }
}

// Claim: an unknown mode (also with --network=), container: without a name,
// container: of an unknown container and container: of an exited one are
// refused, by `run` and by `run -d`: exit 125, one line on stderr, and no
// container is created (ps -a and the store list the same ones as before).
TEST(Ch08Network, BadNetworkModesAreRefused) {
    MINIDOCKER_REQUIRE_ROOT();
    ASSERT_FALSE(run_detached({"--name", "done", "busybox", "true"}).empty());
    ASSERT_EQ(runtime({"wait", "done"}, 30).out, "0\n");
    std::set<std::string> before = all_containers();
    ASSERT_EQ(before.size(), 1u);
    std::set<std::string> dirs_before = names_in(state_root() + "/containers");

    struct Case {
        std::vector<std::string> net;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"--net", "bogus"}, "bogus"},
        {{"--network=bogus"}, "bogus"},
        {{"--net", ""}, "--net"},
        {{"--net", "container:"}, "container:"},
        {{"--net", "container:nosuch"}, "nosuch"},
        {{"--net", "container:done"}, "done"},
    };
    for (const Case& c : cases) {
        for (bool detached : {false, true}) {
            std::vector<std::string> args =
                concat(detached ? std::vector<std::string>{"run", "-d"} : std::vector<std::string>{"run"}, c.net);
            args = concat(args, {"busybox", "true"});
            SCOPED_TRACE(joined(args));
            expect_error_line(runtime(args), c.says);
            EXPECT_EQ(all_containers(), before);
            EXPECT_EQ(names_in(state_root() + "/containers"), dirs_before);
        }
    }
}
