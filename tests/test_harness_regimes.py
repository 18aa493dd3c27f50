"""The one harness's common checks (tests/test_harness.py) for the k-step regimes, the curriculum and Data as
Demonstrator: the same ``check_common`` on the variants that file leaves to this one, so the two halves compile on
the suite's two workers at once."""

import pytest

from tests.test_harness import ELSEWHERE, HERE, VARIANTS, check_common, train_variants


@pytest.fixture(scope="module")
def runs():
    return train_variants(("plain", *ELSEWHERE))  # "plain": what each remedy must change


def test_the_two_files_check_every_variant_once():
    assert sorted(HERE + ELSEWHERE) == sorted(VARIANTS) and not set(HERE) & set(ELSEWHERE)
    assert {"teacher_forcing_k4", "scheduled_k4", "free_running_curriculum_k4", "dad"} <= set(ELSEWHERE)


@pytest.mark.parametrize("name", ELSEWHERE)
def test_every_variant_passes_the_common_checks(name, runs):
    check_common(name, runs)
