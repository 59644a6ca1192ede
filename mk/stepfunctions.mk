# Node tools for the state machine checks (npm @wmfs/statelint, pinned in package-lock.json).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

TEST_SETUP += node_modules/.installed
