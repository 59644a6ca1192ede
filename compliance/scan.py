"""The compliance scan: is the Terraform code in the EU, encrypted and least-privilege?

    make compliance                     # the platform's terraform/ (what CI runs)
    .venv-compliance/bin/python compliance/scan.py --policies-only DIR   # any other folder

Runs terraform fmt/validate/test (offline), the EMR requests against botocore's EMR model
(emr_api_shapes.py), every aws block against the provider 6 schema (provider_schema.py), checkov
with our policies (policies/), our region variable policy, and trivy; prints one table (check, resource, result, GDPR rule) and exits 1
if anything failed, was skipped without a reason, or could not be parsed."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from access_matrix import matrix_results
from emr_api_shapes import emr_api_shape_results
from erasure_retention import check_erasure_retention
from gdpr import gdpr_rule
from iam_catalogue import catalogue_results
from provider_schema import schema_results
from region_variable import check_region_variables
from scanners import checkov_results, trivy_results
from terraform_checks import terraform_results

PROJECT = Path(__file__).resolve().parent.parent


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=PROJECT / "terraform", help="Terraform code to scan")
    parser.add_argument("--policies-only", action="store_true", help="skip terraform fmt/validate/test (code that is not ours)")
    parser.add_argument("--terraform", default=f"{PROJECT / '.venv/bin/python'} {PROJECT / 'tools/terraform'}",
                        help="command that runs Terraform (default: the offline wrapper)")
    parser.add_argument("--json", type=Path, help="also write every result row to this file")
    return parser.parse_args(argv)


def collect(arguments) -> tuple[list[dict], list[str]]:
    folder = arguments.folder.resolve()
    if not folder.is_dir():
        raise SystemExit(f"compliance scan: no such folder: {folder}")
    rows, errors = [], []
    if not arguments.policies_only:
        rows += terraform_results(arguments.terraform.split(), folder)
        rows += emr_api_shape_results(PROJECT)  # the EMR requests we send, against botocore's EMR model
        rows += catalogue_results(arguments.terraform.split(), folder)  # IAM actions and ARNs, against AWS's catalogue
        rows += matrix_results(arguments.terraform.split(), folder)  # who may do what: access_matrix.yaml on the rendered policies
    rows += [{**r, "check": "FRUITS_REGION_VARIABLE", "custom": True} for r in check_region_variables(folder)]
    rows += check_erasure_retention(folder)  # purged features expire from the bucket's versions
    rows += schema_results(folder)  # arguments and blocks against the aws provider 6 schema
    found, failures = checkov_results(folder)
    rows += found
    errors += failures
    with tempfile.TemporaryDirectory(prefix="trivy-cache-") as cache:
        found, failures = trivy_results(folder, Path(cache))
    rows += found
    errors += failures
    return rows, errors


def print_table(rows: list[dict]) -> None:
    shown = [r for r in rows if r.get("custom") or not r["passed"] or r.get("outcome") == "skipped" or "outcome" not in r]
    table = [("check", "resource", "result", "GDPR rule")]
    for row in shown:
        result = "PASS" if row["passed"] else "FAIL"
        if row.get("outcome") == "skipped":
            result = "SKIP (explained)" if row["passed"] else "FAIL (unexplained skip)"
        table.append((row["check"], row["resource"], result, gdpr_rule(row["check"], row.get("name", row["check"]))))
    widths = [min(max(len(line[i]) for line in table), 60) for i in range(4)]
    for number, line in enumerate(table):
        print("  ".join(cell[:60].ljust(width) for cell, width in zip(line, widths)).rstrip())
        if number == 0:
            print("  ".join("-" * width for width in widths))
    hidden = len(rows) - len(shown)
    print(f"\n{hidden} more checkov built-in checks passed (not listed).")
    for row in rows:
        if not row["passed"] and row.get("why"):
            print(f"- {row['check']} {row['resource']}: {row['why']}")


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    rows, errors = collect(arguments)
    print_table(rows)
    if arguments.json:
        arguments.json.write_text(json.dumps({"rows": rows, "errors": errors}, indent=1))
    for error in errors:
        print(f"ERROR: {error}")
    failed = [r for r in rows if not r["passed"]]
    verdict = "compliant" if not failed and not errors else f"NOT compliant: {len(failed)} failed check(s), {len(errors)} error(s)"
    print(f"\nCompliance scan of {arguments.folder}: {verdict}")
    return 0 if not failed and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
