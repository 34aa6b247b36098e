#!/usr/bin/env bash
# bad_input_table.sh TABLE OUT.html - the table of book/troubleshooting.md's
# "Bad input" section (the page includes OUT.html with \htmlinclude).
#
# TABLE is tests/bad_input.tsv, the command lines the suite Ch08BadInput
# (tests/integration/ch08_bad_input_test.cpp) runs: lines starting with #
# are comments, the others four cells separated by tabs: the arguments
# (shell-style, single quotes only), the subcommand, a phrase the error line
# must contain, and why the command line is bad. Each row becomes a table
# row, the command line written after "minidocker"; every cell is
# HTML-escaped. Ends with the number of command lines and of subcommands
# (a subcommand cell in parentheses, such as "(no such command)", is none).
set -euo pipefail
table=$1
out=$2
mkdir -p "$(dirname "$out")"
awk -F '\t' '
function esc(s) {
    gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s)
    gsub(/"/, "\\&quot;", s); gsub(/\047/, "\\&#39;", s)
    return s
}
BEGIN {
    n = 0
    print "<table class=\"doxtable bad-input\">"
    print "<tr><th>#</th><th>command line</th><th>subcommand</th><th>the error line says</th><th>why it is bad</th></tr>"
}
/^#/ || /^[ \t]*$/ { next }
{
    if (NF != 4) {
        printf "bad_input_table.sh: %s:%d: expected 4 tab-separated cells, found %d\n", FILENAME, FNR, NF > "/dev/stderr"
        failed = 1
        exit 1
    }
    n++
    if ($2 !~ /^\(/ && !($2 in seen)) { seen[$2] = 1; commands++ }
    print "<tr><td>" n "</td><td><code>minidocker " esc($1) "</code></td><td><code>" esc($2) "</code></td><td><code>" esc($3) "</code></td><td>" esc($4) "</td></tr>"
}
END {
    if (failed) exit 1
    print "</table>"
    print "<p>" n " command lines, over " commands " subcommands, unknown commands and global options. Each one: exit code 125, nothing on standard output, one line on standard error, nothing changed on disk.</p>"
}' "$table" > "$out"
