# Spark's S3 connector for local runs against an S3 endpoint (the moto emulator in tests):
# pyspark ships no hadoop-aws, and Maven is out of reach, so the two jars are taken from PyPI's
# sagemaker-pyspark 1.4.5 sdist (only these two files, checked against tools/s3a-jars.sha256).
S3A_JARS := .tools/jars

$(S3A_JARS)/.installed: tools/s3a-jars.sha256
	rm -rf $(S3A_JARS) .tools/s3a-download && mkdir -p $(S3A_JARS) .tools/s3a-download
	$(PYTHON) -m pip download --quiet --no-deps --no-binary :all: -d .tools/s3a-download sagemaker-pyspark==1.4.5
	tar -xzf .tools/s3a-download/sagemaker_pyspark-1.4.5.tar.gz -C $(S3A_JARS) --strip-components=3 \
	    sagemaker_pyspark-1.4.5/deps/jars/hadoop-aws-3.3.1.jar sagemaker_pyspark-1.4.5/deps/jars/aws-java-sdk-bundle-1.11.901.jar
	cd $(S3A_JARS) && sha256sum --check --quiet ../../tools/s3a-jars.sha256
	rm -rf .tools/s3a-download
	touch $@

TEST_SETUP += $(S3A_JARS)/.installed
