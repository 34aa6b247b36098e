#!/usr/bin/env bash
# trace_appendix.sh TRANSCRIPT OUT.html - the table of the book's trace
# appendix (book/trace-appendix.md includes OUT.html with \htmlinclude).
#
# TRANSCRIPT is a checked transcript (tests/transcripts/ch08-full-trace.txt):
# "$ " lines are commands, the rest their output. Each trace line
# "[NN owner] call = result" becomes a table row whose first cell links to
# the "How it works" section of chapter NN, the chapter that wrote that code.
# Lines without a prefix are the output of the command itself. Container and
# layer ids (64 hex digits) are shortened to 12 digits and an ellipsis.
set -euo pipefail
transcript=$1
out=$2
mkdir -p "$(dirname "$out")"
sed -E 's/([0-9a-f]{12})[0-9a-f]{52}/\1…/g' "$transcript" | awk '
function esc(s) {
    gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s)
    return s
}
function close_table() {
    if (open) print "</table>"
    open = 0
}
BEGIN { open = 0; n = 0 }
/^\$ / {
    close_table()
    print "<p class=\"trace-command\"><code>" esc($0) "</code></p>"
    next
}
{
    if (!open) {
        print "<table class=\"doxtable trace-appendix\">"
        print "<tr><th>#</th><th>written by</th><th>the step, as --trace prints it</th></tr>"
        open = 1
    }
    n++
    if (match($0, /^\[[0-9][0-9] [a-z]+\] /)) {
        owner = substr($0, 2, RLENGTH - 3)
        nn = substr(owner, 1, 2)
        rest = substr($0, RLENGTH + 1)
        count[owner]++
        cell = "<a href=\"ch" nn ".html#ch" nn "-how\">" esc(owner) "</a>"
    } else {
        rest = $0
        cell = "<em>the command</em>"
    }
    print "<tr><td>" n "</td><td>" cell "</td><td style=\"word-break: break-all\"><code>" esc(rest) "</code></td></tr>"
}
END {
    close_table()
    print "<p>Lines per owner:"
    sep = " "
    for (o in count) owners = owners o "\n"
    # a fixed order: sort the owners by chapter number
    k = split(owners, list, "\n")
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (list[j] < list[i]) { t = list[i]; list[i] = list[j]; list[j] = t }
    for (i = 1; i <= k; i++) if (list[i] != "") { printf "%s%s: %d", sep, esc(list[i]), count[list[i]]; sep = ", " }
    print ".</p>"
}' > "$out"
