"""The offline rehearsal of the cloud run (`fruits rehearse`): an AWS emulator (moto) with what
Terraform creates, the real CLI against it, and each EMR step run for real on the local Spark.
Start at run.py; emulator.py, emr_integration.py and emr_step_driver.py are also the tests' harness."""
