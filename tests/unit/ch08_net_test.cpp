// Unit tests of chapter 08's logic, no root needed: how --net is read.
#include <gtest/gtest.h>

#include "error.hpp"
#include "net.hpp"

using namespace minidocker;

TEST(Ch08NetworkMode, NoneHostAndContainerAsDockerSpellsThem) {
    EXPECT_EQ(parse_network_mode("none").kind, NetworkMode::Kind::none);
    EXPECT_EQ(parse_network_mode("host").kind, NetworkMode::Kind::host);
    NetworkMode joined = parse_network_mode("container:web");
    EXPECT_EQ(joined.kind, NetworkMode::Kind::container);
    EXPECT_EQ(joined.container, "web");
    EXPECT_EQ(joined.text(), "container:web");
    EXPECT_EQ(parse_network_mode("host").text(), "host");
    EXPECT_EQ(parse_network_mode("none").text(), "none");
}

TEST(Ch08NetworkMode, DockersBridgeIsNotHereAndSaysSo) {
    for (const char* bridge : {"bridge", "default"}) {
        try {
            parse_network_mode(bridge);
            ADD_FAILURE() << "accepted --net " << bridge;
        } catch (const UsageError& e) {
            EXPECT_NE(std::string(e.what()).find("no bridge network"), std::string::npos) << e.what();
        }
    }
}

TEST(Ch08NetworkMode, AnythingElseIsOneClearLine) {
    for (const char* bad : {"", "bogus", "bridge", "default", "private", "Host", "container:", "container"}) {
        try {
            parse_network_mode(bad);
            ADD_FAILURE() << "accepted --net \"" << bad << "\"";
        } catch (const UsageError& e) {
            std::string what = e.what();
            EXPECT_NE(what.find("--net"), std::string::npos) << what;
            EXPECT_EQ(what.find('\n'), std::string::npos) << what;
        }
    }
}
