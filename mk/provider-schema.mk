# The aws provider 6 schema that compliance/provider_schema.py checks the Terraform against. The
# provider binary is out of reach offline; PyPI's cdktf-cdktf-provider-aws 21.22.1 (generated from
# aws 6.25.0) describes every resource and data source in its jsii assembly. Derived once into a
# compact JSON file (about 1 MB); the 57 MB wheel is deleted.
PROVIDER_SCHEMA := .tools/aws-provider-schema.json
CDKTF_AWS_WHEEL := cdktf_cdktf_provider_aws-21.22.1-py3-none-any.whl
CDKTF_AWS_SHA256 := 603c647c4de622ed0a2b5e0f1518d81a89b31eed84b67d23410840041e7df924

$(PROVIDER_SCHEMA): mk/provider-schema.mk compliance/provider_schema.py
	rm -rf .tools/schema-download && mkdir -p .tools/schema-download
	$(PYTHON) -m pip download --quiet --disable-pip-version-check --no-deps -d .tools/schema-download cdktf-cdktf-provider-aws==21.22.1
	echo "$(CDKTF_AWS_SHA256)  .tools/schema-download/$(CDKTF_AWS_WHEEL)" | sha256sum --check --quiet
	$(PYTHON) compliance/provider_schema.py --derive .tools/schema-download/$(CDKTF_AWS_WHEEL) --schema $@
	rm -rf .tools/schema-download

TEST_SETUP += $(PROVIDER_SCHEMA)
