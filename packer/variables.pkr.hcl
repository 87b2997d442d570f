# Inputs of the kboot AMI build. Every version is pinned; change them together (the Kubernetes
# minor selects the pkgs.k8s.io repository, the containerd and runc checksums match their versions).
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

variable "kubernetes_version" {
  type        = string
  default     = "1.37.1"
  description = "Kubernetes version of kubelet, kubeadm and kubectl (MAJOR.MINOR.PATCH); tagged kboot.io/kubernetes-version. Default: the newest release in kboot's table of supported minors (src/domain/kubeadm/versions.ts)."

  validation {
    condition     = length(split(".", var.kubernetes_version)) == 3 && substr(var.kubernetes_version, 0, 1) != "v"
    error_message = "The kubernetes_version must be MAJOR.MINOR.PATCH without a leading v, such as 1.37.1."
  }
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

variable "containerd_version" {
  type        = string
  default     = "2.3.2"
  description = "containerd release (github.com/containerd/containerd) installed in /usr/local; tagged kboot.io/containerd-version. 2.3 is containerd's LTS line (supported to April 2028); 1.7 reached its end of life in September 2026."
}

variable "containerd_sha256" {
  type        = map(string)
  default     = {}
  description = "SHA-256 of containerd-<version>-linux-<amd64|arm64>.tar.gz for containerd_version, per Debian architecture. {} checks against the release's own .sha256sum file (fetched from the same GitHub release); pin the sums the first build prints for reproducible builds."
}

variable "runc_version" {
  type        = string
  default     = "1.3.4"
  description = "runc release (github.com/opencontainers/runc) installed as /usr/local/sbin/runc."
}

variable "runc_sha256" {
  type = map(string)
  default = {
    amd64 = "5966ca40b6187b30e33bfc299c5f1fe72e8c1aa01cf3fefdadf391668f47f103"
    arm64 = "d6dcab36d1b6af1b72c7f0662e5fcf446a291271ba6006532b95c4144e19d428"
  }
  description = "SHA-256 of runc.<amd64|arm64> for runc_version; {} checks against the release's runc.sha256sum instead."
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
