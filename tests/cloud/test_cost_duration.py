"""`fruits cost` refuses a run longer than a Step Functions execution may last (one year:
docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), which it priced before: 10^15
images on the default cluster were 'about 52083333346 min' (99,000 years) and 742 million USD.
No AWS call: moto is not needed."""
from __future__ import annotations

import pytest

from fruits.cli import main
from fruits.cloud.prices import MAX_EXECUTION_MINUTES, estimate_run


@pytest.mark.parametrize("arguments", [["--images", str(10**15)], ["--images", str(2 * 10**11), "--core-nodes", "20"],
                                       ["--images", str(10**12), "--new-images", "0"]])
def test_a_run_longer_than_an_execution_may_last_is_a_wrong_argument(arguments, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no output/platform.json: Terraform's default cluster
    monkeypatch.delenv("FRUITS_PLATFORM", raising=False)
    with pytest.raises(SystemExit) as refused:
        main(["cost", *arguments])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert refused.value.code == 2 and "years, more than the year a Step Functions execution may last" in error, error


def test_the_longest_run_that_can_end_is_priced(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FRUITS_PLATFORM", raising=False)
    images = 10**10  # about 361 days on the default cluster
    assert estimate_run(images)["minutes"] <= MAX_EXECUTION_MINUTES < estimate_run(images * 2)["minutes"]
    assert main(["cost", "--images", str(images)]) == 0
    assert capsys.readouterr().out.startswith(f"{images} images on 1 m5.xlarge + 2 m5.xlarge")
