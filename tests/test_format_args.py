"""c-format-args: a printf conversion leaves with its argument, so the call stays well formed."""

from __future__ import annotations

import subprocess

import pytest

from carts_reduce.passes.c.format_args import RemoveFormatArguments
from conftest import require

PROGRAM = """\
#include <stdio.h>
int main(void) {
  double a = 1, b = 2;
  int n = 3;
  printf("row %d: mean %.9f var %.9f\\n", n, a, b);
  fprintf(stderr, "x=%5.2f%% y=%s\\n", a, "s");
  printf("%*d\\n", 3, n);
  printf("tab\\t%d\\n", n);
  return 0;
}
"""


def calls(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "printf(" in line]


def test_a_conversion_goes_with_its_argument_and_its_label():
    candidates = [calls(text) for _, text in RemoveFormatArguments().candidates(PROGRAM, None)]
    assert ['printf(" var %.9f\\n", b);', 'fprintf(stderr, "x=%5.2f%% y=%s\\n", a, "s");',
            'printf("%*d\\n", 3, n);', 'printf("tab\\t%d\\n", n);'] in candidates
    firsts = {tuple(c)[0] for c in candidates}
    assert 'printf(": mean %.9f var %.9f\\n", a, b);' in firsts  # the first, with its label "row "
    assert 'printf("row %d var %.9f\\n", n, b);' in firsts
    seconds = {tuple(c)[1] for c in candidates}
    assert 'fprintf(stderr, "%% y=%s\\n", "s");' in seconds  # "%%" takes no argument: it stays
    assert 'fprintf(stderr, "x=%5.2f\\n", a);' in seconds
    # A '*' width takes an argument of its own, and escapes other than \\n are left alone: not offered.
    assert {tuple(c)[2] for c in candidates} == {'printf("%*d\\n", 3, n);'}
    assert {tuple(c)[3] for c in candidates} == {'printf("tab\\t%d\\n", n);'}


def test_every_candidate_keeps_format_and_arguments_matched(tmp_path):
    require("gcc")
    produced = list(RemoveFormatArguments().candidates(PROGRAM, None))
    assert len(produced) >= 6
    for index, (_, text) in enumerate(produced):
        path = tmp_path / f"c{index}.c"
        path.write_text(text)
        checked = subprocess.run(["gcc", "-fsyntax-only", "-Werror=format", "-Wformat-extra-args", str(path)],
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, (text, checked.stderr)
        assert len(text) < len(PROGRAM)


@pytest.mark.parametrize("call", ['printf(buffer, n);', 'printf("%d" "%d", n, n);', 'puts("%d");',
                                  'printf("%d\\n", n, n);'])
def test_calls_it_cannot_read_are_left_alone(call):
    text = f"int main(void) {{ int n = 1; char *buffer = 0; {call} return 0; }}\n"
    assert list(RemoveFormatArguments().candidates(text, None)) == []
