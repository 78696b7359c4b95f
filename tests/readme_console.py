"""A Sybil parser for ```console blocks: run each `$ ` command, compare what a person would see.

A block is a sequence of examples. An example is a line starting with `$ ` (the command; a
trailing backslash continues it on the next line) and the lines after it up to the next `$ `
line or the end of the block (its expected output). The command runs with `bash -c` in the
working directory held in the document's namespace under "cwd", with this interpreter's bin
folder (the venv's) first on PATH, so pipes, redirections and globs work as in a shell.

What is compared is stdout and stderr merged in the order they were written (Python runs
unbuffered), as a terminal shows them; but they are pipes, not a terminal. Trailing spaces on
a line and blank lines at the end are not compared. The rest is compared line by line:

* in a line, `...` matches any text (doctest's ELLIPSIS);
* a line holding only `...` matches any number of lines, none included;
* a number matches a number within a relative tolerance of 1e-4 (absolute 1e-12); two
  integers must be equal; a number shown with fewer than 10 significant digits (a fixed
  format such as 0.000196, or a cell copied verbatim such as 153.90) must also keep its
  decimals and exponent, so only repr()-style floats may change their last digits freely;
* a number followed by ` s` (a timing, "0.26 s") matches any number;
* everything else, whitespace included, must be equal.

Every command must exit 0; to show an error, write `$ CMD; echo "exit $?"` and show the exit
line in the output. A block after the HTML comment `<!-- skip: REASON -->` is not run: its
examples are reported as skipped with that reason. Blocks in any other language (```sh for
set-up) are not examples.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import unittest
from dataclasses import dataclass
from typing import Iterable, Optional

from sybil import Document, Example, Region
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer

REL_TOL = 1e-4
ABS_TOL = 1e-12
TIMEOUT_SECONDS = 120

NUMBER = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
TOKEN = re.compile(rf"(?P<ellipsis>\.\.\.)|(?P<timing>{NUMBER})(?= ?s\b)|(?P<number>{NUMBER})")
INTEGER = re.compile(r"[-+]?\d+")
SKIP = re.compile(r"<!--\s*skip:\s*(?P<reason>.*?)\s*-->\s*\Z", re.DOTALL)
ANY_LINES = "..."
FREE_FORM_DIGITS = 10  # repr() of a float: its last digits move with any rounding change


@dataclass(frozen=True)
class Command:
    """One `$ ` example: the shell command and the lines it should print."""

    command: str
    expected: tuple
    skip_reason: Optional[str] = None


class ConsoleParser:
    """Yield one Region per `$ ` command of every ```console block."""

    def __init__(self) -> None:
        self.lexer = FencedCodeBlockLexer("console")

    def __call__(self, document: Document) -> Iterable[Region]:
        for block in self.lexer(document):
            source = block.lexemes["source"]
            before = document.text[: block.start].rstrip()
            skip = SKIP.search(before[before.rfind("<!--"):]) if "<!--" in before else None
            reason = skip.group("reason") if skip else None
            start = block.start + source.offset
            for offset, end, command in split_examples(source):
                yield Region(start + offset, start + end,
                             parsed=Command(command.command, command.expected, reason),
                             evaluator=evaluate)


def split_examples(source: str):
    """(start offset, end offset, Command) for each `$ ` line of a block's text."""
    lines = source.splitlines(keepends=True)
    examples, position = [], 0
    current = None  # [start, end, command text, expected lines, continued]
    for line in lines:
        text = line.rstrip("\n")
        if current is not None and current[4]:  # a continuation of the command
            current[2] = current[2] + "\n" + text  # bash joins backslash-newline
            current[4] = text.endswith("\\")
        elif text.startswith("$ "):
            if current is not None:
                examples.append(current)
            current = [position, position, text[2:], [], text.endswith("\\")]
        elif current is None:
            if text.strip():
                raise ValueError(f"console block: output before the first '$ ' line: {text!r}")
        else:
            current[3].append(text)
        position += len(line)
        if current is not None:
            current[1] = position
    if current is not None:
        examples.append(current)
    return [(start, end, Command(command, tuple(expected)))
            for start, end, command, expected, _ in examples]


def evaluate(example: Example) -> Optional[str]:
    """Run the example's command; return a failure message, or None when it is as shown."""
    command: Command = example.parsed
    if command.skip_reason is not None:
        raise unittest.SkipTest(command.skip_reason)
    output, code = run(command.command, example.namespace["cwd"])
    if code != 0:
        return (f"$ {command.command}\nexited {code} (every example must exit 0; show an "
                f"expected failure with '; echo \"exit $?\"'). Its output:\n{output}")
    if not trimmed(command.expected):
        return None  # no output shown: only the exit status is checked
    failure = compare(command.expected, output.splitlines())
    if failure is None:
        return None
    return (f"$ {command.command}\n{failure}\n--- expected\n" + "\n".join(trimmed(command.expected))
            + "\n--- got\n" + "\n".join(trimmed(output.splitlines())))


def run(command: str, cwd) -> tuple:
    """Run through bash in cwd; stdout and stderr merged as written. Returns (text, exit code)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GMMCLI_")}
    bin_dir = os.path.dirname(sys.executable)
    env.update(PATH=bin_dir + os.pathsep + env.get("PATH", ""), PYTHONUNBUFFERED="1",
               COLUMNS="80", NO_COLOR="1", TERM="dumb")
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=TIMEOUT_SECONDS)
    return done.stdout.decode("utf-8", errors="replace"), done.returncode


def trimmed(lines) -> list:
    """Lines without trailing spaces, and without blank lines at the end."""
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def compare(expected, actual) -> Optional[str]:
    """None when the actual lines match the expected ones, else why not (the first difference)."""
    expected, actual = trimmed(expected), trimmed(actual)
    failures, memo = {}, {}

    def match(i: int, j: int) -> bool:
        key = (i, j)
        if key not in memo:
            if i == len(expected):
                ok = j == len(actual)
                if not ok:
                    failures.setdefault(i, f"unexpected line {j + 1} of the output: {actual[j]!r}")
            elif expected[i].strip() == ANY_LINES:
                ok = any(match(i + 1, jj) for jj in range(j, len(actual) + 1))
            elif j == len(actual):
                ok = False
                failures.setdefault(i, f"missing line: {expected[i]!r}")
            else:
                why = compare_line(expected[i], actual[j])
                if why is not None:
                    failures.setdefault(i, f"line {j + 1} of the output: {why}")
                ok = why is None and match(i + 1, j + 1)
            memo[key] = ok
        return memo[key]

    if match(0, 0):
        return None
    return failures[max(failures)] if failures else "output differs"


def compare_line(expected: str, actual: str) -> Optional[str]:
    """None when one line matches, else a message naming the difference."""
    pattern, kinds, numbers = line_pattern(expected)
    found = re.fullmatch(pattern, actual)
    if found is None:
        return f"expected {expected!r}, got {actual!r}"
    for kind, want, got in zip(kinds, numbers, found.groups()):
        if kind == "number" and not numbers_match(want, got):
            return f"number {got} where {want} was expected (in {actual!r})"
    return None


def line_pattern(expected: str):
    """The regex for one expected line, the kind of each group and the expected numbers."""
    parts, kinds, numbers, position = [], [], [], 0
    for token in TOKEN.finditer(expected):
        parts.append(re.escape(expected[position:token.start()]))
        position = token.end()
        if token.group("ellipsis"):
            parts.append(".*?")
            continue
        kind = "timing" if token.group("timing") else "number"
        parts.append(f"({NUMBER})")
        kinds.append(kind)
        numbers.append(token.group(kind))
    parts.append(re.escape(expected[position:]))
    return "".join(parts), kinds, numbers


def numbers_match(want: str, got: str) -> bool:
    """Two integers must be equal. Otherwise the values must agree to REL_TOL, and a number
    shown with fewer than FREE_FORM_DIGITS significant digits (a fixed format such as 0.000196,
    or a value copied verbatim such as 153.90) must keep its shape: decimals and exponent."""
    if INTEGER.fullmatch(want) and INTEGER.fullmatch(got):
        return int(want) == int(got)
    if not is_free_form(want) and shape(want) != shape(got):
        return False
    return close(want, got)


def close(want: str, got: str) -> bool:
    return math.isclose(float(want), float(got), rel_tol=REL_TOL, abs_tol=ABS_TOL)


def significant_digits(number: str) -> int:
    mantissa = re.split("[eE]", number)[0]
    return len(mantissa.lstrip("+-").replace(".", "").lstrip("0"))


def is_free_form(number: str) -> bool:
    return significant_digits(number) >= FREE_FORM_DIGITS


def shape(number: str) -> tuple:
    """Digits after the point, and whether there is an exponent."""
    mantissa, *exponent = re.split("[eE]", number)
    return (len(mantissa.partition(".")[2]), bool(exponent))
