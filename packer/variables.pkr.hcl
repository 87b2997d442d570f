# Inputs of the kboot AMI build. The versions of what it installs (Kubernetes, cri-tools,
# kubernetes-cni, containerd, runc and their checksums) are in versions.pkr.hcl, rendered from
# kboot's version tables.
# Validations use only functions Packer 1.6 has (no regex), so Debian's packer can check them.

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region to build in (copy elsewhere with ami_regions)."

  validation {
    condition     = length(split("-", var.region)) >= 3
    error_message = "The region must be an AWS region name such as us-east-1."
  }
}

variable "kboot_version" {
  type        = string
  description = "Version of the kboot binaries (`dist/kboot --version`); the build checks the binary reports exactly this, and tags the AMI kboot.io/version with it."

  validation {
    condition     = length(var.kboot_version) > 0 && substr(var.kboot_version, 0, 1) != "v"
    error_message = "The kboot_version must be the version `kboot --version` prints, such as 1.2.0 (no leading v)."
  }
}

variable "kboot_binary_dir" {
  type        = string
  default     = ""
  description = "Directory holding kboot-linux-x64 and kboot-linux-arm64 (`npm run build`); empty means dist/ beside packer/."
}

variable "kubernetes_package_revision" {
  type        = string
  default     = "1.1"
  description = "Debian revision of the pkgs.k8s.io packages: installs kubelet=<kubernetes_version>-<revision>."
}

variable "kubernetes_apt_key_fingerprint" {
  type        = string
  default     = "DE15B14486CD377B9E876E1A234654DA9A296436"
  description = "Fingerprint of the pkgs.k8s.io signing key (Release.key of the minor's repository); the build refuses any other key."

  validation {
    condition     = length(var.kubernetes_apt_key_fingerprint) == 40
    error_message = "The kubernetes_apt_key_fingerprint must be a 40-character OpenPGP fingerprint without spaces."
  }
}

variable "base_ami_owner" {
  type        = string
  default     = "136693071363"
  description = "Owner of the base AMI: Debian's official AWS account."
}

variable "base_ami_name" {
  type        = string
  default     = "debian-12"
  description = "Name prefix of the base AMI; the newest <prefix>-<amd64|arm64>-* image is used."
}

variable "instance_types" {
  type = map(string)
  default = {
    x86_64 = "t3.medium"
    arm64  = "t4g.medium"
  }
  description = "Build instance type per architecture."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet of the build instance (it needs outbound HTTPS and to be reachable by SSH); empty means the default VPC."
}

variable "root_volume_size_gb" {
  type        = number
  default     = 20
  description = "Size of the AMI's root volume (gp3), in GiB."
}

variable "encrypt_boot" {
  type        = bool
  default     = true
  description = "Encrypt the AMI's snapshot (with the account's default EBS key unless kms_key_id is set). Sharing an encrypted AMI with ami_users needs kms_key_id."
}

variable "kms_key_id" {
  type        = string
  default     = ""
  description = "KMS key (id, ARN or alias) for encrypt_boot; empty means the default EBS key (aws/ebs), which cannot be shared with other accounts."
}

variable "ssh_source_cidrs" {
  type        = list(string)
  default     = []
  description = "CIDRs allowed to reach the build instance's SSH port; empty means only the public IP Packer runs from."

  validation {
    condition     = ! contains(var.ssh_source_cidrs, "0.0.0.0/0") && ! contains(var.ssh_source_cidrs, "::/0")
    error_message = "The ssh_source_cidrs must not open SSH to the whole internet (0.0.0.0/0 or ::/0); leave it empty to allow only the address Packer runs from."
  }
}

variable "ami_name_prefix" {
  type        = string
  default     = "kboot"
  description = "AMI names are <prefix>-<kboot version>-k8s-<kubernetes version>-<arch>-<timestamp>."
}

variable "ami_regions" {
  type        = list(string)
  default     = []
  description = "Other regions to copy the AMI to (tags are copied too)."
}

variable "ami_users" {
  type        = list(string)
  default     = []
  description = "AWS account ids allowed to launch the AMI."
}

variable "extra_tags" {
  type        = map(string)
  default     = {}
  description = "More tags for the AMI and its snapshots (the kboot.io/* tags win on a clash)."
}

variable "upgrade_os_packages" {
  type        = bool
  default     = true
  description = "Apply Debian's updates, kernel included (apt-get dist-upgrade), before installing anything."
}

variable "prepull_images" {
  type        = bool
  default     = true
  description = "Pull the control-plane and kube-proxy images of kubernetes_version into the AMI, so nodes do not fetch them at boot."
}

variable "manifest_path" {
  type        = string
  default     = ""
  description = "Where Packer's manifest post-processor writes the built AMI ids and versions; empty means build/packer-manifest.json beside packer/."
}
