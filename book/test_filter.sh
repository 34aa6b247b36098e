#!/bin/sh
# test_filter.sh FILE - what Doxygen reads of a test file (FILTER_PATTERNS in
# Doxyfile.in): only the TEST(Suite, Name) lines, as empty functions, every
# other line blank, so the line numbers stay right. The book links each test
# by name (\ref Suite_Name) without the tests' helpers becoming part of the
# API reference; the source pages still show the whole file.
exec awk '/^TEST(_F)?\(/ { sub(/\{[[:space:]]*$/, "{}"); print; next } { print "" }' "$1"
