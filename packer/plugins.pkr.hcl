# Packer >= 1.7 reads this block; `packer init packer/` installs the amazon plugin it names
# (Packer 1.10 and newer ship no builders of their own, so init is required there).
#
# Packer 1.6 (Debian 12's `packer` package) does not know required_plugins and rejects this file,
# but has the amazon-ebs builder built in: validate the template with it from a copy of packer/
# without this file, as test/integration/packer.test.ts does.

packer {
  required_version = ">= 1.7.0"

  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.2.0, < 2.0.0"
    }
  }
}
