// Unit tests for common/template.hpp: render_template(), the Go text/template subset
// behind `inspect -f`. The data is the kind of JSON inspect prints; the
// expected output is what Docker (Go) prints for the same template. No root,
// no files.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "error.hpp"
#include "template.hpp"

using namespace minidocker;
using nlohmann::json;

namespace {

// One container, as inspect shows it.
json container() {
    return json::parse(R"({
        "Id": "4f2a9c",
        "Name": "web",
        "State": {"Status": "running", "Pid": 4242, "ExitCode": 0, "OOMKilled": false, "Health": null},
        "Config": {
            "Cmd": ["sh", "-c", "sleep 1"],
            "Env": [],
            "Labels": {"b": "2", "a": "1"},
            "Hostname": "web"
        },
        "Mounts": [
            {"Source": "/v/a", "Destination": "/data", "RW": true},
            {"Source": "/v/b", "Destination": "/logs", "RW": false}
        ],
        "Empty": {}
    })");
}

std::string render(const std::string& text, const json& data = container()) { return render_template(text, data); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The message of the UsageError render() throws, checked to be one line;
// "" (and a failure) when it throws none.
std::string error_of(const std::string& text, const json& data = container()) {
    try {
        std::string out = render_template(text, data);
        ADD_FAILURE() << "no error for " << text << "; it printed: " << out;
    } catch (const UsageError& e) {
        std::string why = e.what();
        EXPECT_FALSE(contains(why, "\n")) << "not one line: " << why;
        EXPECT_EQ(why.rfind("template: ", 0), 0U) << why;
        return why;
    }
    return "";
}

}  // namespace

// ---- fields ----

TEST(Template, PidAsTheSeedAsksForIt) { EXPECT_EQ(render("{{.State.Pid}}"), "4242"); }

TEST(Template, FieldPaths) {
    EXPECT_EQ(render("{{.Name}}"), "web");
    EXPECT_EQ(render("{{.State.Status}}"), "running");
    EXPECT_EQ(render("{{.Config.Hostname}}"), "web");
    json deep = {{"A", {{"B", {{"C", {{"D", "deep"}}}}}}}};
    EXPECT_EQ(render("{{.A.B.C.D}}", deep), "deep");
}

TEST(Template, SpacesAndNewlinesInsideActions) {
    EXPECT_EQ(render("{{ .State.Pid }}"), "4242");
    EXPECT_EQ(render("{{\t.State.Pid\n}}"), "4242");
    EXPECT_EQ(render("{{   json   .Config.Cmd   }}"), R"(["sh","-c","sleep 1"])");
}

TEST(Template, FieldNamesAreCaseSensitive) {
    EXPECT_TRUE(contains(error_of("{{.state.pid}}"), "no field \"state\" in ."));
    EXPECT_TRUE(contains(error_of("{{.State.PID}}"), "no field \"PID\" in .State"));
}

TEST(Template, DotIsTheWholeData) {
    EXPECT_EQ(render("{{.}}", json("just a string")), "just a string");
    EXPECT_EQ(render("{{.}}", json(7)), "7");
}

// ---- json ----

TEST(Template, JsonOfAnObjectIsCompact) {
    json data = container();
    EXPECT_EQ(render("{{json .State}}"), data["State"].dump());
    EXPECT_EQ(render("{{json .State}}"),
              R"({"ExitCode":0,"Health":null,"OOMKilled":false,"Pid":4242,"Status":"running"})");
}

TEST(Template, JsonOfEverythingReadsBackTheSame) {
    json data = container();
    std::string out = render("{{json .}}");
    EXPECT_EQ(out, data.dump());
    EXPECT_FALSE(contains(out, "\n"));
    EXPECT_EQ(json::parse(out), data);
}

TEST(Template, JsonOfScalars) {
    EXPECT_EQ(render("{{json .Name}}"), "\"web\"");
    EXPECT_EQ(render("{{json .State.Pid}}"), "4242");
    EXPECT_EQ(render("{{json .State.OOMKilled}}"), "false");
    EXPECT_EQ(render("{{json .State.Health}}"), "null");
    EXPECT_EQ(render("{{json .Config.Env}}"), "[]");
    EXPECT_EQ(render("{{json \"a<b>&c\"}}"), "\"a<b>&c\"") << "Docker's json does not escape HTML";
}

TEST(Template, JsonOfBadUtf8IsReplacedNotThrown) {
    std::string bad_byte = "\xff";
    std::string replacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8
    json data = {{"Name", "a" + bad_byte + "b"}};
    EXPECT_EQ(render("{{json .Name}}", data), "\"a" + replacement + "b\"");
}

// ---- printing as Go's %v ----

TEST(Template, ScalarsPrintAsGoDoes) {
    EXPECT_EQ(render("{{.Name}}"), "web") << "strings are raw, not quoted";
    EXPECT_EQ(render("{{.State.OOMKilled}}"), "false");
    EXPECT_EQ(render("{{.B}}", json{{"B", true}}), "true");
    EXPECT_EQ(render("{{.State.ExitCode}}"), "0");
    EXPECT_EQ(render("{{.N}}", json{{"N", -17}}), "-17");
    EXPECT_EQ(render("{{.N}}", json{{"N", 18446744073709551615ULL}}), "18446744073709551615");
    EXPECT_EQ(render("{{.State.Health}}"), "<no value>");
}

TEST(Template, FloatsPrintAsGoDoes) {
    auto f = [](double value) { return render("{{.F}}", json{{"F", value}}); };
    EXPECT_EQ(f(0.5), "0.5");
    EXPECT_EQ(f(3.0), "3");
    EXPECT_EQ(f(-2.25), "-2.25");
    EXPECT_EQ(f(0.0), "0");
    EXPECT_EQ(f(123456.0), "123456");
    EXPECT_EQ(f(1e6), "1e+06");
    EXPECT_EQ(f(1234567.0), "1.234567e+06");
    EXPECT_EQ(f(0.0001), "0.0001");
    EXPECT_EQ(f(0.00001), "1e-05");
    EXPECT_EQ(f(0.1), "0.1");
    EXPECT_EQ(f(1e100), "1e+100");
    // JSON text has none of these, but a json value made in code may.
    EXPECT_EQ(f(std::numeric_limits<double>::quiet_NaN()), "NaN");
    EXPECT_EQ(f(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(f(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(Template, ArraysAndObjectsPrintAsGoDoes) {
    EXPECT_EQ(render("{{.Config.Cmd}}"), "[sh -c sleep 1]");
    EXPECT_EQ(render("{{.Config.Env}}"), "[]");
    EXPECT_EQ(render("{{.Config.Labels}}"), "map[a:1 b:2]") << "keys sorted";
    EXPECT_EQ(render("{{.Empty}}"), "map[]");
    EXPECT_EQ(render("{{.Mounts}}"),
              "[map[Destination:/data RW:true Source:/v/a] map[Destination:/logs RW:false Source:/v/b]]");
    EXPECT_EQ(render("{{.State}}"), "map[ExitCode:0 Health:<nil> OOMKilled:false Pid:4242 Status:running]")
        << "a null inside is Go's <nil>";
    EXPECT_EQ(render("{{.}}", json::parse(R"([null, "", "x", [1, [2]], 1.5])")), "[<nil>  x [1 [2]] 1.5]");
}

// ---- literal text and trimming ----

TEST(Template, LiteralTextAroundActionsIsCopied) {
    EXPECT_EQ(render("pid={{.State.Pid}} status={{.State.Status}}\n"), "pid=4242 status=running\n");
    EXPECT_EQ(render("{{.Name}}{{.Id}}"), "web4f2a9c");
    EXPECT_EQ(render("  {{.Name}}  "), "  web  ");
    EXPECT_EQ(render("no actions at all { } }"), "no actions at all { } }");
    EXPECT_EQ(render(""), "");
}

TEST(Template, TrimMarkersEatWhiteSpaceOnTheirSide) {
    EXPECT_EQ(render("a  \n\t {{- .Name -}} \r\n  b"), "awebb");
    EXPECT_EQ(render("a  {{- .Name}}  b"), "aweb  b");
    EXPECT_EQ(render("a  {{.Name -}}  b"), "a  webb");
    EXPECT_EQ(render("a {{- .Name -}} {{- .Id -}} b"), "aweb4f2a9cb");
    EXPECT_EQ(render("x {{- \"y\" -}} \n"), "xy") << "trimming to nothing";
    EXPECT_EQ(render("a {{-3}} b"), "a -3 b") << "without a space after it, the dash is a minus";
    EXPECT_EQ(render("{{range .Config.Cmd -}}\n  <{{.}}>\n{{- end}}"), "<sh><-c><sleep 1>");
}

// ---- constants and index ----

TEST(Template, StringAndNumberConstants) {
    EXPECT_EQ(render("{{\"a}}b\"}}"), "a}}b") << "}} inside a string does not close the action";
    EXPECT_EQ(render(R"({{"say \"hi\"\t\\"}})"), "say \"hi\"\t\\");
    EXPECT_EQ(render("{{`raw \\n {{`}}"), "raw \\n {{");
    EXPECT_EQ(render("{{42}} {{-7}}"), "42 -7");
}

TEST(Template, IndexOfObjectsAndArrays) {
    EXPECT_EQ(render("{{index .Config.Labels \"a\"}}"), "1");
    EXPECT_EQ(render("{{index .Config.Cmd 2}}"), "sleep 1");
    EXPECT_EQ(render("{{index .Mounts 1 \"Source\"}}"), "/v/b");
    EXPECT_EQ(render("{{index . \"State\" \"Pid\"}}"), "4242");
}

TEST(Template, IndexOfAMissingKeyIsNoValueAsForAGoMap) {
    EXPECT_EQ(render("{{index .Config.Labels \"nope\"}}"), "<no value>");
    EXPECT_EQ(render("{{if index .Config.Labels \"nope\"}}yes{{else}}no{{end}}"), "no");
}

TEST(Template, IndexErrors) {
    EXPECT_TRUE(contains(error_of("{{index .Config.Cmd 3}}"), "index out of range: 3"));
    EXPECT_TRUE(contains(error_of("{{index .Config.Cmd -1}}"), "index out of range: -1"));
    EXPECT_TRUE(contains(error_of("{{index .Config.Cmd \"a\"}}"), "can't index an array with \"a\""));
    EXPECT_TRUE(contains(error_of("{{index .Config.Labels 0}}"), "can't index an object with 0"));
    EXPECT_TRUE(contains(error_of("{{index .Name 0}}"), "can't index a string with 0"));
    EXPECT_TRUE(contains(error_of("{{index .Config.Cmd}}"), "wrong number of args for index"));
}

// ---- range and if ----

TEST(Template, RangeOverAnArraySetsDotToEachElement) {
    EXPECT_EQ(render("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}"), "/v/a:/data /v/b:/logs ");
    EXPECT_EQ(render("{{range .Config.Cmd}}<{{.}}>{{end}}"), "<sh><-c><sleep 1>");
    EXPECT_EQ(render("{{range .}}[{{range .}}{{.}}{{end}}]{{end}}", json::parse("[[1,2],[3]]")), "[12][3]");
}

TEST(Template, RangeOverAnObjectGoesThroughItsValuesInKeyOrder) {
    EXPECT_EQ(render("{{range .Config.Labels}}{{.}};{{end}}"), "1;2;");
}

TEST(Template, RangeOverNothingRunsItsElse) {
    EXPECT_EQ(render("{{range .Config.Env}}{{.}}{{else}}no env{{end}}"), "no env");
    EXPECT_EQ(render("{{range .Config.Env}}{{.}}{{end}}"), "");
    EXPECT_EQ(render("{{range .State.Health}}x{{else}}none{{end}}"), "none") << "null is empty";
    EXPECT_EQ(render("{{range .Config.Cmd}}{{.}}{{else}}none{{end}}"), "sh-csleep 1");
}

TEST(Template, RangeOverAScalarIsAnError) {
    std::string why = error_of("{{range .Name}}x{{end}}");
    EXPECT_TRUE(contains(why, "range can't iterate over .Name (a string) at offset 0")) << why;
}

TEST(Template, IfAndElse) {
    EXPECT_EQ(render("{{if .State.OOMKilled}}killed{{else}}fine{{end}}"), "fine");
    EXPECT_EQ(render("{{if .State.Pid}}up as {{.State.Pid}}{{end}}"), "up as 4242");
    EXPECT_EQ(render("{{if .State.ExitCode}}failed{{end}}"), "");
    EXPECT_EQ(render("{{range .Mounts}}{{.Destination}}{{if .RW}} rw{{else}} ro{{end}}\n{{end}}"),
              "/data rw\n/logs ro\n");
}

TEST(Template, GoTruth) {
    auto truth = [](const json& value) { return render("{{if .}}T{{else}}F{{end}}", value); };
    for (const json& no :
         {json(false), json(0), json(0U), json(0.0), json(""), json(nullptr), json::array(), json::object()}) {
        EXPECT_EQ(truth(no), "F") << no.dump();
    }
    for (const json& yes :
         {json(true), json(1), json(-1), json(0.5), json("0"), json("false"), json::array({0}), json{{"a", nullptr}}}) {
        EXPECT_EQ(truth(yes), "T") << yes.dump();
    }
}

TEST(Template, OnlyTheBranchTakenIsEvaluated) {
    // As in Go: a missing field is found when it is printed, not before.
    EXPECT_EQ(render("{{if .State.OOMKilled}}{{.No.Such.Field}}{{end}}ok"), "ok");
    EXPECT_EQ(render("{{range .Config.Env}}{{.Nope}}{{end}}ok"), "ok");
    // But the template as a whole must make sense, taken or not.
    EXPECT_TRUE(contains(error_of("{{if .State.OOMKilled}}{{lower .Name}}{{end}}"), "function \"lower\" not defined"));
}

// ---- errors: one line, naming the problem and where ----

TEST(Template, UnclosedAction) {
    EXPECT_TRUE(contains(error_of("{{.State.Pid"), "unclosed action at offset 0 in \"{{.State.Pid\""));
    EXPECT_TRUE(contains(error_of("pid {{.State.Pid"), "unclosed action at offset 4"));
    EXPECT_TRUE(contains(error_of("{{"), "unclosed action"));
    EXPECT_TRUE(contains(error_of("{{.Name}"), "unexpected \"}\" after .Name"));
    EXPECT_TRUE(contains(error_of("{{.Name {{.Id}}"), "unexpected \"{\""));
}

TEST(Template, CloseWithoutOpen) {
    std::string why = error_of("a }} b");
    EXPECT_TRUE(contains(why, "unexpected \"}}\"")) << why;
    EXPECT_TRUE(contains(why, "at offset 2")) << why;
    EXPECT_TRUE(contains(error_of("{{.Name}}}}"), "at offset 9"));
}

TEST(Template, EmptyAction) {
    EXPECT_TRUE(contains(error_of("{{}}"), "empty action"));
    EXPECT_TRUE(contains(error_of("x{{  }}"), "empty action at offset 1"));
    EXPECT_TRUE(contains(error_of("{{- -}}"), "empty action"));
}

TEST(Template, UnknownFunction) {
    std::string why = error_of("{{upper .Name}}");
    EXPECT_TRUE(contains(why, "function \"upper\" not defined at offset 0")) << why;
    EXPECT_TRUE(contains(error_of("{{len .Mounts}}"), "function \"len\" not defined"));
    EXPECT_TRUE(contains(error_of("{{Name}}"), "function \"Name\" not defined")) << "a field needs its dot";
}

TEST(Template, EndOrElseWithoutStart) {
    EXPECT_TRUE(contains(error_of("a{{end}}"), "{{end}} without {{if}} or {{range}} at offset 1"));
    EXPECT_TRUE(contains(error_of("{{else}}"), "{{else}} without {{if}} or {{range}}"));
    EXPECT_TRUE(contains(error_of("{{if .Name}}x{{end}}{{end}}"), "{{end}} without {{if}} or {{range}} at offset 20"));
}

TEST(Template, MissingEnd) {
    EXPECT_TRUE(contains(error_of("x {{if .Name}}yes"), "missing {{end}} for {{if}} at offset 2"));
    EXPECT_TRUE(contains(error_of("{{range .Mounts}}{{.Source}}"), "missing {{end}} for {{range}}"));
    EXPECT_TRUE(contains(error_of("{{if .Name}}{{range .Mounts}}{{end}}"), "missing {{end}} for {{if}}"));
    EXPECT_TRUE(contains(error_of("{{if .Name}}a{{else}}b"), "missing {{end}} for {{if}}"));
}

TEST(Template, MalformedBlocks) {
    EXPECT_TRUE(contains(error_of("{{if}}x{{end}}"), "missing value for if"));
    EXPECT_TRUE(contains(error_of("{{range}}x{{end}}"), "missing value for range"));
    EXPECT_TRUE(contains(error_of("{{if .Name}}a{{else}}b{{else}}c{{end}}"), "a second {{else}} in {{if}}"));
    EXPECT_TRUE(contains(error_of("{{if .Name}}a{{end .Name}}"), "{{end}} takes no arguments"));
    EXPECT_TRUE(contains(error_of("{{if .Name}}a{{else if .Id}}b{{end}}"), "{{else}} takes no arguments"));
}

TEST(Template, MissingField) {
    EXPECT_TRUE(contains(error_of("{{.State.Foo}}"), "template: no field \"Foo\" in .State at offset 0"));
    EXPECT_TRUE(contains(error_of("{{.Foo}}"), "no field \"Foo\" in . at offset 0"));
    EXPECT_TRUE(contains(error_of("{{range .Mounts}}{{.Nope}}{{end}}"), "no field \"Nope\" in . at offset 17"));
}

TEST(Template, FieldOfSomethingThatIsNotAnObject) {
    EXPECT_TRUE(contains(error_of("{{.State.Pid.X}}"), "no field \"X\" in .State.Pid (a number, not an object)"));
    EXPECT_TRUE(
        contains(error_of("{{.State.Health.Status}}"), "no field \"Status\" in .State.Health (null, not an object)"));
    EXPECT_TRUE(contains(error_of("{{.Mounts.Source}}"), "no field \"Source\" in .Mounts (an array, not an object)"));
    EXPECT_TRUE(contains(error_of("{{.X}}", json("text")), "no field \"X\" in . (a string, not an object)"));
}

TEST(Template, WrongArguments) {
    EXPECT_TRUE(contains(error_of("{{json}}"), "wrong number of args for json: want 1 got 0"));
    EXPECT_TRUE(contains(error_of("{{json .Name .Id}}"), "wrong number of args for json: want 1 got 2"));
    EXPECT_TRUE(contains(error_of("{{.Name .Id}}"), "can't give argument to non-function .Name"));
    EXPECT_TRUE(contains(error_of("{{\"x\" 1}}"), "can't give argument to non-function \"x\""));
    EXPECT_TRUE(contains(error_of("{{json index .Config.Cmd 0}}"), "unexpected \"index\" in arguments of json"));
}

TEST(Template, BadWords) {
    EXPECT_TRUE(contains(error_of("{{.State.}}"), "expected a field name after \".\""));
    EXPECT_TRUE(contains(error_of("{{.State..Pid}}"), "expected a field name"));
    EXPECT_TRUE(contains(error_of("{{.5}}"), "expected a field name"));
    EXPECT_TRUE(contains(error_of("{{json.State}}"), "unexpected \".\" after json"));
    EXPECT_TRUE(contains(error_of("{{.Name-}}"), "unexpected \"-\" after .Name"));
    EXPECT_TRUE(contains(error_of("{{index .Config.Labels \"a}}"), "unterminated string"));
    EXPECT_TRUE(contains(error_of("{{\"a\\qb\"}}"), "unknown escape \"\\\\q\""));
    EXPECT_TRUE(contains(error_of("{{99999999999999999999}}"), "number out of range"));
}

TEST(Template, WhatTheSubsetLeavesOut) {
    EXPECT_TRUE(contains(error_of("{{$x := .Name}}"), "unexpected \"$\""));
    EXPECT_TRUE(contains(error_of("{{.Name | json}}"), "unexpected \"|\""));
    EXPECT_TRUE(contains(error_of("{{(index .Mounts 0).Source}}"), "unexpected \"(\""));
    EXPECT_TRUE(contains(error_of("{{/* note */}}"), "unexpected \"/\""));
    EXPECT_TRUE(contains(error_of("{{with .State}}{{.Pid}}{{end}}"), "function \"with\" not defined"));
}

TEST(Template, ErrorsInAManyLineTemplateStayOneLine) {
    std::string why = error_of("line one\n{{.Nope}}\tline two\n");
    EXPECT_TRUE(contains(why, "no field \"Nope\" in . at offset 9")) << why;
    EXPECT_TRUE(contains(why, R"(in "line one\n{{.Nope}}\tline two\n")")) << why;
    EXPECT_TRUE(contains(error_of("{{`a\nb` 1}}"), "non-function \"a\\nb\"")) << "a raw string is shown escaped";
}

TEST(Template, ErrorsAreUsageErrors) {
    EXPECT_THROW(render("{{.Foo}}"), UsageError);
    EXPECT_THROW(render("{{"), UsageError);
    EXPECT_THROW(render("{{nope}}"), UsageError);
}
