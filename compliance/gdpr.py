"""Which GDPR rule a compliance check serves, for the scan's table."""
from __future__ import annotations

CUSTOM = {
    "CKV_FRUITS_1": "Art. 44 (no transfer outside the EU)",
    "FRUITS_REGION_VARIABLE": "Art. 44 (no transfer outside the EU)",
    "CKV2_FRUITS_3": "Art. 32(1)(a) (encryption)",
    "CKV_FRUITS_4": "Art. 32(1)(a) (encryption in transit)",
    "CKV_FRUITS_5": "Art. 25(2), 32(4) (least privilege)",
    "terraform fmt": "Art. 25(1) (protection by design: reviewed code)",
    "module coverage": "Art. 25(1) (protection by design: every module checked)",
    "terraform validate + test": "Art. 25(1) (protection by design: tested code)",
    "terraform test (region validation)": "Art. 44 (no transfer outside the EU)",
    "CKV_FRUITS_6": "Art. 5(1)(e), 32 (storage limitation, encryption)",
    "FRUITS_ERASURE_RETENTION": "Art. 17 (right to erasure)",
}

KEYWORDS = (  # first match wins: the check's name says what it protects
    (("region",), "Art. 44 (no transfer outside the EU)"),
    (("transit", "tls", "ssl", "transport", "https"), "Art. 32(1)(a) (encryption in transit)"),
    (("encrypt", "kms", "cmk"), "Art. 32(1)(a) (encryption)"),
    (("public", "acl", "principal", "exposure"), "Art. 25(2) (not accessible to anyone)"),
    (("iam", "privilege", "policy", "policies", "role", "permission", "credential"), "Art. 25(2), 32(4) (least privilege)"),
    (("retention", "lifecycle", "expire"), "Art. 5(1)(e) (storage limitation)"),
    (("log", "trac", "monitor"), "Art. 30, 33 (records, breach detection)"),
    (("version", "backup", "replication", "recovery", "deletion"), "Art. 32(1)(c) (availability)"),
)


def gdpr_rule(check_id: str, check_name: str) -> str:
    """The article a check serves: ours from CUSTOM, built-in ones from the words of their name."""
    if check_id in CUSTOM:
        return CUSTOM[check_id]
    name = check_name.lower()
    for words, rule in KEYWORDS:
        if any(word in name for word in words):
            return rule
    return "Art. 32 (security of processing)"
