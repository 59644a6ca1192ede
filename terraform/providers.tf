provider "aws" {
  region = var.region
  # Every resource says what it is for and who pays for it.
  default_tags {
    tags = merge(var.tags, { Project = "fruits", Component = "image-features", ManagedBy = "terraform" })
  }
}
