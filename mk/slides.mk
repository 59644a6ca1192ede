# make slides: render docs/presentation/slides.md (Marp, in French) to docs/presentation/slides.pdf
# with marp-cli (pinned in docs/presentation/package-lock.json) driving Debian's Chromium.
# CHROME_NO_SANDBOX=1: Chromium cannot use its sandbox as root (CI and these machines run as root).
SLIDES := docs/presentation
MARP := CHROME_PATH="$$(command -v chromium)" CHROME_NO_SANDBOX=1 $(SLIDES)/node_modules/.bin/marp --allow-local-files
.PHONY: slides

# apt takes one install at a time: after shellcheck's (mk/bootstrap.mk) when make runs several jobs.
.tools/chromium.installed: | .tools/shellcheck.installed
	command -v chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
	mkdir -p .tools && touch $@

$(SLIDES)/node_modules/.installed: $(SLIDES)/package.json $(SLIDES)/package-lock.json
	cd $(SLIDES) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

slides: .tools/chromium.installed $(SLIDES)/node_modules/.installed
	$(MARP) $(SLIDES)/slides.md -o $(SLIDES)/slides.pdf

TEST_SETUP += .tools/chromium.installed $(SLIDES)/node_modules/.installed
