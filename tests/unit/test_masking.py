"""Secret-looking values in args and kwargs are masked, at any depth and in command lines."""

from __future__ import annotations

from jobdeck.auth.masking import DEFAULT_KEYS, MASK, mask


def test_keys_at_any_depth() -> None:
    value = {"db_password": "x", "user": "ada", "nested": [{"API_KEY": "k", "n": 1}], "token": None}
    assert mask(value, DEFAULT_KEYS) == {
        "db_password": MASK,
        "user": "ada",
        "nested": [{"API_KEY": MASK, "n": 1}],
        "token": None,  # nothing to hide
    }


def test_command_lines() -> None:
    argv = ["deploy", "--password=hunter2", "--token", "abc", "--user", "ada", "SECRET_KEY=s3", "a=b", "-v"]
    assert mask(argv, DEFAULT_KEYS) == [
        "deploy",
        f"--password={MASK}",
        "--token",
        MASK,
        "--user",
        "ada",
        f"SECRET_KEY={MASK}",
        "a=b",
        "-v",
    ]


def test_a_flag_at_the_end_and_values_that_are_not_strings() -> None:
    assert mask(["run", 3, "--secret"], DEFAULT_KEYS) == ["run", 3, "--secret"]
    assert mask(["--token", 42], DEFAULT_KEYS) == ["--token", 42]


def test_no_patterns_mask_nothing() -> None:
    assert mask({"password": "x"}, []) == {"password": "x"}
