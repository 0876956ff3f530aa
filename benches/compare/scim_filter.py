"""Parses the Gatehouse bench filters with scim2-filter-parser (PyPI), the side-by-side
baseline for benches/benches/scim_filter.rs. Prints parses per second for the simple filter
and for the mix in benches/inputs/scim_filter_mix.txt, in the same form as the Rust
parse_loop example."""

import pathlib
import sys
import time

from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

SIMPLE = 'userName eq "bjensen"'
MIX = [
    line
    for line in (pathlib.Path(__file__).parent.parent / "inputs" / "scim_filter_mix.txt")
    .read_text()
    .splitlines()
    if line
]


def rate(filters, seconds):
    lexer, parser = SCIMLexer(), SCIMParser()
    for f in filters:  # every filter must parse, or the rate would measure errors
        parser.parse(lexer.tokenize(f))
    rounds, start = 0, time.perf_counter()
    while True:
        for f in filters:
            parser.parse(lexer.tokenize(f))
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return rounds * len(filters) / elapsed


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    print(f"simple: {rate([SIMPLE], seconds):.0f} parses/s wall-clock")
    print(f"mix: {rate(MIX, seconds):.0f} parses/s wall-clock")
