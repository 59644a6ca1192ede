# The CLI config tools/terraform always uses. Empty for now: the modules tested offline need no
# provider. (The hashicorp/aws filesystem mirror goes here with the Terraform platform issue.)
.tools/terraformrc:
	mkdir -p .tools
	printf '# Terraform CLI config of this project (see mk/terraform.mk)\n' > $@

TEST_SETUP += .tools/terraformrc
