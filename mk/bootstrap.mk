# shellcheck for the bootstrap script's test (Debian package).
.tools/shellcheck.installed:
	mkdir -p .tools
	command -v shellcheck >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q shellcheck >/dev/null; }
	touch $@

TEST_SETUP += .tools/shellcheck.installed
