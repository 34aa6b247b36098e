// template.cpp - see template.hpp. Three steps, as in Go's own text/template:
// lex the text into literal text and actions, parse the actions into a tree
// (if and range hold what comes before their end), then execute the tree
// against the JSON.
#include "template.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <string_view>
#include <system_error>
#include <vector>

#include "error.hpp"

namespace minidocker {

namespace {

using nlohmann::json;

// One word inside an action.
struct Token {
    enum class Kind { field, word, string, number };  // .A.B  json  "key"  0
    Kind kind = Kind::word;
    std::string text;               // as written
    std::vector<std::string> path;  // field: {"State", "Pid"}; {} for `.`
    std::string value;              // string: without quotes and escapes
    long long number = 0;           // number
};

// Literal text, or one action.
struct Piece {
    bool is_action = false;
    std::string text;           // literal text, trimmed if asked to
    std::vector<Token> tokens;  // action
    size_t offset = 0;          // where it starts in the template
};

// The parsed template: literal text, a value to print, or an if/range block.
struct Node {
    enum class Kind { text, print, if_block, range_block };
    Kind kind = Kind::text;
    std::string text;             // text
    std::vector<Token> command;   // print: the action; if, range: what follows the keyword
    std::vector<Node> body;       // if, range
    std::vector<Node> else_body;  // if, range: after {{else}}
    size_t offset = 0;            // where the action starts in the template
};

bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }
bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
bool is_letter(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
bool is_name_char(char ch) { return is_letter(ch) || is_digit(ch); }

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    return s;
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

// A token as a message shows it: fields, words and numbers as written,
// strings quoted and escaped (so that the message stays one line).
std::string shown(const Token& t) { return t.kind == Token::Kind::string ? fmt::format("{:?}", t.value) : t.text; }

// What a JSON value is, for messages.
std::string a_kind_of(const json& v) {
    if (v.is_null()) {
        return "null";
    }
    if (v.is_array() || v.is_object()) {
        return std::string("an ") + v.type_name();
    }
    return std::string("a ") + v.type_name();  // a boolean, a number, a string
}

// Go's fmt %v for a float64 is %g with the fewest digits that read back the
// same: an exponent when it is below -4 or from 6 on (0.5, 3, 123456, 1e+06).
std::string go_float(double f) {
    if (!std::isfinite(f)) {
        return std::isnan(f) ? "NaN" : (f > 0 ? "+Inf" : "-Inf");
    }
    char buf[64];
    std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
    std::string scientific(buf, r.ptr);
    int exponent = std::stoi(scientific.substr(scientific.find('e') + 1));
    if (exponent < -4 || exponent >= 6) {
        return scientific;  // 1e+06, 1.5e-05: Go writes the exponent the same way
    }
    r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::fixed);
    return std::string(buf, r.ptr);
}

// Go's fmt %v. Inside an array or object a null is Go's <nil>; alone it is a
// missing value, which text/template prints as <no value>.
std::string go_print(const json& v, bool inside) {
    if (v.is_null()) {
        return inside ? "<nil>" : "<no value>";
    }
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_number_float()) {
        return go_float(v.get<double>());
    }
    if (v.is_array()) {
        std::string out = "[";
        const char* separator = "";
        for (const json& item : v) {
            out += separator + go_print(item, true);
            separator = " ";
        }
        return out + "]";
    }
    if (v.is_object()) {
        std::string out = "map[";  // nlohmann keeps keys sorted, as Go prints them
        const char* separator = "";
        for (const auto& [key, item] : v.items()) {
            out += separator + key + ":" + go_print(item, true);
            separator = " ";
        }
        return out + "]";
    }
    return v.dump();  // booleans and integers
}

// Go's truth: false, 0, "", null and empty arrays and objects are false.
bool is_true(const json& v) {
    if (v.is_null()) {
        return false;
    }
    if (v.is_boolean()) {
        return v.get<bool>();
    }
    if (v.is_number()) {
        return v.get<double>() != 0;
    }
    if (v.is_string()) {
        return !v.get_ref<const std::string&>().empty();
    }
    return !v.empty();  // arrays and objects
}

class Template {
public:
    explicit Template(const std::string& source) : source_(source) {}

    std::string render(const json& data) {
        std::vector<Piece> pieces = lex();
        size_t pos = 0;
        std::vector<Node> nodes = parse_list(pieces, pos);
        if (pos < pieces.size()) {  // parse_list stopped at an else or end that nothing opened
            fail(pieces[pos].offset, "{{" + keyword(pieces[pos]) + "}} without {{if}} or {{range}}");
        }
        std::string out;
        execute(nodes, data, out);
        return out;
    }

private:
    const std::string& source_;

    [[noreturn]] void fail(size_t offset, const std::string& problem) const {
        throw UsageError(fmt::format("template: {} at offset {} in {:?}", problem, offset, source_));
    }

    // ---- lexing: literal text and actions ----

    // `{{- ` trims the text before it; Go wants white space after the dash
    // (`{{-3}}` prints -3).
    bool has_left_trim(size_t open) const {
        return open + 3 < source_.size() && source_[open + 2] == '-' && is_space(source_[open + 3]);
    }

    std::vector<Piece> lex() const {
        std::vector<Piece> pieces;
        size_t pos = 0;
        bool trim_next = false;  // the last action ended with ` -}}`
        while (pos < source_.size()) {
            size_t open = source_.find("{{", pos);
            size_t end = open == std::string::npos ? source_.size() : open;
            std::string_view text = std::string_view(source_).substr(pos, end - pos);
            if (size_t stray = text.find("}}"); stray != std::string_view::npos) {
                fail(pos + stray, "unexpected \"}}\" with no \"{{\" before it");
            }
            if (trim_next) {
                text = trim_left(text);
            }
            if (open != std::string::npos && has_left_trim(open)) {
                text = trim_right(text);
            }
            if (!text.empty()) {
                Piece piece;
                piece.text = text;
                piece.offset = pos;
                pieces.push_back(piece);
            }
            if (open == std::string::npos) {
                break;
            }
            pieces.push_back(lex_action(open, pos, trim_next));
        }
        return pieces;
    }

    // The action that starts with the `{{` at `open`; leaves `pos` after its `}}`.
    Piece lex_action(size_t open, size_t& pos, bool& trim_next) const {
        Piece action;
        action.is_action = true;
        action.offset = open;
        pos = open + (has_left_trim(open) ? 3 : 2);
        for (;;) {
            while (pos < source_.size() && is_space(source_[pos])) {
                ++pos;
            }
            if (pos == source_.size()) {
                fail(open, "unclosed action");
            }
            if (source_.compare(pos, 2, "}}") == 0) {
                pos += 2;
                trim_next = false;
                return action;
            }
            if (source_.compare(pos, 3, "-}}") == 0 && is_space(source_[pos - 1])) {
                pos += 3;
                trim_next = true;
                return action;
            }
            action.tokens.push_back(lex_token(pos));
        }
    }

    Token lex_token(size_t& pos) const {
        size_t start = pos;
        char ch = source_[pos];
        Token t;
        if (ch == '.') {
            t = lex_field(pos);
        } else if (ch == '"' || ch == '`') {
            t = lex_string(pos);
        } else if (is_digit(ch) || (ch == '-' && pos + 1 < source_.size() && is_digit(source_[pos + 1]))) {
            t = lex_number(pos);
        } else if (is_letter(ch)) {
            t.kind = Token::Kind::word;
            while (pos < source_.size() && is_name_char(source_[pos])) {
                ++pos;
            }
        } else {
            fail(pos, fmt::format("unexpected {:?} in action", std::string(1, ch)));
        }
        t.text = source_.substr(start, pos - start);
        // Words are apart: `.A.B"x"` or `json.X` is a typo, not two words.
        if (pos < source_.size() && !is_space(source_[pos]) && source_.compare(pos, 2, "}}") != 0) {
            fail(pos, fmt::format("unexpected {:?} after {}", std::string(1, source_[pos]), shown(t)));
        }
        return t;
    }

    // `.` alone, or `.A.B.C`.
    Token lex_field(size_t& pos) const {
        Token t;
        t.kind = Token::Kind::field;
        ++pos;
        if (pos == source_.size() || !is_name_char(source_[pos])) {
            return t;  // `.`
        }
        for (;;) {
            size_t start = pos;
            while (pos < source_.size() && is_name_char(source_[pos])) {
                ++pos;
            }
            if (pos == start || is_digit(source_[start])) {
                fail(start, "expected a field name after \".\"");
            }
            t.path.push_back(source_.substr(start, pos - start));
            if (pos == source_.size() || source_[pos] != '.') {
                return t;
            }
            ++pos;
        }
    }

    // "with \"escapes\"\n" or `raw`.
    Token lex_string(size_t& pos) const {
        Token t;
        t.kind = Token::Kind::string;
        size_t start = pos;
        char quote = source_[pos++];
        for (;;) {
            if (pos == source_.size() || (quote == '"' && source_[pos] == '\n')) {
                fail(start, "unterminated string");
            }
            char ch = source_[pos++];
            if (ch == quote) {
                return t;
            }
            if (ch == '\\' && quote == '"' && pos < source_.size()) {
                char escaped = source_[pos++];
                if (escaped == 'n') {
                    ch = '\n';
                } else if (escaped == 't') {
                    ch = '\t';
                } else if (escaped == '"' || escaped == '\\') {
                    ch = escaped;
                } else {
                    fail(pos - 2, fmt::format("unknown escape {:?} in string", std::string{'\\', escaped}));
                }
            }
            t.value += ch;
        }
    }

    Token lex_number(size_t& pos) const {
        Token t;
        t.kind = Token::Kind::number;
        size_t start = pos;
        if (source_[pos] == '-') {
            ++pos;
        }
        while (pos < source_.size() && is_digit(source_[pos])) {
            ++pos;
        }
        std::from_chars_result r = std::from_chars(source_.data() + start, source_.data() + pos, t.number);
        if (r.ec != std::errc()) {
            fail(start, "number out of range");
        }
        return t;
    }

    // ---- parsing: if and range own what comes before their end ----

    static std::string keyword(const Piece& piece) {
        if (!piece.is_action || piece.tokens.empty() || piece.tokens[0].kind != Token::Kind::word) {
            return "";
        }
        return piece.tokens[0].text;
    }

    // Parses pieces from `pos` to the end of the template, or to an {{else}}
    // or {{end}}, which it leaves at `pos` for the block that owns it.
    std::vector<Node> parse_list(const std::vector<Piece>& pieces, size_t& pos) const {
        std::vector<Node> nodes;
        while (pos < pieces.size()) {
            const Piece& piece = pieces[pos];
            std::string word = keyword(piece);
            if (word == "else" || word == "end") {
                break;
            }
            ++pos;
            if (word == "if" || word == "range") {
                nodes.push_back(parse_block(pieces, pos, piece));
                continue;
            }
            Node node;
            node.offset = piece.offset;
            if (piece.is_action) {
                check_command(piece.tokens, piece.offset);
                node.kind = Node::Kind::print;
                node.command = piece.tokens;
            } else {
                node.text = piece.text;
            }
            nodes.push_back(node);
        }
        return nodes;
    }

    // {{if X}} body [{{else}} else-body] {{end}}, and the same for range.
    Node parse_block(const std::vector<Piece>& pieces, size_t& pos, const Piece& start) const {
        std::string word = keyword(start);
        Node node;
        node.kind = word == "if" ? Node::Kind::if_block : Node::Kind::range_block;
        node.offset = start.offset;
        node.command.assign(start.tokens.begin() + 1, start.tokens.end());
        if (node.command.empty()) {
            fail(start.offset, "missing value for " + word);
        }
        check_command(node.command, start.offset);
        node.body = parse_list(pieces, pos);
        if (pos < pieces.size() && keyword(pieces[pos]) == "else") {
            check_alone(pieces[pos]);
            ++pos;
            node.else_body = parse_list(pieces, pos);
            if (pos < pieces.size() && keyword(pieces[pos]) == "else") {
                fail(pieces[pos].offset, "a second {{else}} in {{" + word + "}}");
            }
        }
        if (pos == pieces.size()) {
            fail(start.offset, "missing {{end}} for {{" + word + "}}");
        }
        check_alone(pieces[pos]);  // the {{end}}
        ++pos;
        return node;
    }

    void check_alone(const Piece& piece) const {
        if (piece.tokens.size() > 1) {
            fail(piece.offset, "{{" + keyword(piece) + "}} takes no arguments");
        }
    }

    // What can be checked before running: names of functions and how many
    // arguments they get.
    void check_command(const std::vector<Token>& command, size_t offset) const {
        if (command.empty()) {
            fail(offset, "empty action");
        }
        const Token& first = command[0];
        if (first.kind != Token::Kind::word) {
            if (command.size() > 1) {
                fail(offset, "can't give argument to non-function " + shown(first));
            }
            return;
        }
        if (first.text != "json" && first.text != "index") {
            fail(offset, fmt::format("function {:?} not defined", first.text));
        }
        for (size_t i = 1; i < command.size(); ++i) {
            if (command[i].kind == Token::Kind::word) {
                fail(offset, fmt::format("unexpected {:?} in arguments of {}", command[i].text, first.text));
            }
        }
        size_t args = command.size() - 1;
        if (first.text == "json" && args != 1) {
            fail(offset, fmt::format("wrong number of args for json: want 1 got {}", args));
        }
        if (first.text == "index" && args < 2) {
            fail(offset, fmt::format("wrong number of args for index: want at least 2 got {}", args));
        }
    }

    // ---- executing ----

    void execute(const std::vector<Node>& nodes, const json& dot, std::string& out) const {
        for (const Node& node : nodes) {
            if (node.kind == Node::Kind::text) {
                out += node.text;
            } else if (node.kind == Node::Kind::print) {
                out += go_print(evaluate(node.command, dot, node.offset), false);
            } else if (node.kind == Node::Kind::if_block) {
                bool yes = is_true(evaluate(node.command, dot, node.offset));
                execute(yes ? node.body : node.else_body, dot, out);
            } else {
                json items = evaluate(node.command, dot, node.offset);
                if (!items.is_null() && !items.is_array() && !items.is_object()) {
                    fail(node.offset,
                         fmt::format("range can't iterate over {} ({})", shown(node.command[0]), a_kind_of(items)));
                }
                if (items.empty()) {  // also true for null
                    execute(node.else_body, dot, out);
                }
                for (const json& item : items) {  // an object's values, in key order
                    execute(node.body, item, out);
                }
            }
        }
    }

    json evaluate(const std::vector<Token>& command, const json& dot, size_t offset) const {
        const Token& first = command[0];
        if (first.kind != Token::Kind::word) {
            return argument(first, dot, offset);
        }
        json value = argument(command[1], dot, offset);
        if (first.text == "json") {
            // Compact, as Docker's json; bad UTF-8 becomes U+FFFD, as in Go.
            return value.dump(-1, ' ', false, json::error_handler_t::replace);
        }
        for (size_t i = 2; i < command.size(); ++i) {  // index
            value = index(value, argument(command[i], dot, offset), offset);
        }
        return value;
    }

    json argument(const Token& t, const json& dot, size_t offset) const {
        if (t.kind == Token::Kind::string) {
            return t.value;
        }
        if (t.kind == Token::Kind::number) {
            return t.number;
        }
        const json* value = &dot;  // a field: walk its path from dot
        std::string walked;
        for (const std::string& name : t.path) {
            std::string where = walked.empty() ? "." : walked;
            if (!value->is_object()) {
                fail(offset, fmt::format("no field {:?} in {} ({}, not an object)", name, where, a_kind_of(*value)));
            }
            json::const_iterator found = value->find(name);
            if (found == value->end()) {
                fail(offset, fmt::format("no field {:?} in {}", name, where));
            }
            value = &*found;
            walked += "." + name;
        }
        return *value;
    }

    // Go's index: a key of an object (missing: no value, as a Go map gives)
    // or a position in an array.
    json index(const json& item, const json& key, size_t offset) const {
        if (item.is_object() && key.is_string()) {
            json::const_iterator found = item.find(key.get<std::string>());
            return found == item.end() ? json() : *found;
        }
        if (item.is_array() && key.is_number_integer()) {
            long long i = key.get<long long>();
            if (i < 0 || static_cast<unsigned long long>(i) >= item.size()) {
                fail(offset, fmt::format("index out of range: {}", i));
            }
            return item[static_cast<size_t>(i)];
        }
        std::string shown_key = key.dump(-1, ' ', false, json::error_handler_t::replace);
        fail(offset, fmt::format("can't index {} with {}", a_kind_of(item), shown_key));
    }
};

}  // namespace

std::string render_template(const std::string& text, const nlohmann::json& data) { return Template(text).render(data); }

}  // namespace minidocker
