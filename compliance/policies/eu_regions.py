"""AWS regions in EU member states: the platform's GDPR perimeter.

The same list is in terraform/variables.tf and src/fruits/cloud/regions.py; tests/compliance
keeps the three equal. London (eu-west-2) and Zurich (eu-central-2) are outside the EU."""

EU_REGIONS = ("eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3")
