# The kboot node AMI: Debian 12 with pinned containerd, runc, kubelet, kubeadm and kubectl, the
# kernel settings kubeadm's preflight checks, and the kboot binary with its systemd units
# (kboot-boot.service runs `kboot boot` at every boot; kboot-rotate.timer runs `kboot rotate` and
# kboot-leave-controller.timer `kboot leave-controller` on control-plane members; kboot-leave-watch.service and kboot-leave.service run `kboot leave` when
# the instance is terminated). One AMI serves both roles: the role comes from the instance's tags.
#
#   packer init packer/                                  # Packer >= 1.7: installs the amazon plugin
#   packer build -var kboot_version="$(dist/kboot --version)" packer/
#   packer build -only='amazon-ebs.arm64' -var kboot_version=... packer/   # one architecture
#
# The AMIs are tagged so `kboot ami` finds them:
#   kboot ami --tag kboot.io/version=X --kubernetes-version 1.37 --arch arm64

locals {
  # Packer source name (= EC2 architecture) -> Debian architecture, kboot binary suffix.
  debian_arch = { x86_64 = "amd64", arm64 = "arm64" }
  kboot_arch  = { x86_64 = "x64", arm64 = "arm64" }

  kboot_binary_dir = var.kboot_binary_dir != "" ? var.kboot_binary_dir : "${path.root}/../dist"
  build_dir        = "/tmp/kboot-build"
  artifact_dir     = "${path.root}/../build"
  build_timestamp  = formatdate("YYYYMMDD-hhmmss", timestamp())
  # AMI names may not contain "+" (dev builds are 0.0.0-dev+<sha>); tag values may.
  ami_name_version = replace(var.kboot_version, "+", "-")

  # A snapshot encrypted with the account's default EBS key (aws/ebs) cannot be shared: another
  # account can launch the AMI only if it may use a customer-managed key (kms_key_id, with a key
  # policy or grant for those accounts). Variable validations cannot see other variables, so the
  # check is here: file() of a path that cannot exist stops `packer validate` and `build` with
  # this message.
  checked_ami_users = (var.encrypt_boot && var.kms_key_id == "" && length(var.ami_users) > 0
    ? [file("ERROR: ami_users with encrypt_boot needs kms_key_id: a customer-managed KMS key that those accounts may use (the default aws/ebs key cannot be shared)")]
  : var.ami_users)

  # The pins of kubernetes_version's minor and of the containerd and runc versions (versions.pkr.hcl).
  # A version without pins stops `packer validate` and `build` with the message below.
  kubernetes_minor = join(".", slice(split(".", var.kubernetes_version), 0, 2))
  kubernetes_packages = (contains(keys(var.kubernetes_packages), local.kubernetes_minor)
    ? var.kubernetes_packages[local.kubernetes_minor]
  : { cri_tools = file("ERROR: kubernetes_packages has no cri-tools and kubernetes-cni versions for Kubernetes ${local.kubernetes_minor} (add the versions its pkgs.k8s.io repository publishes, in src/domain/kubeadm/versions.ts)"), kubernetes_cni = "" })
  containerd_sha256 = (contains(keys(var.containerd_sha256), var.containerd_version)
    ? var.containerd_sha256[var.containerd_version]
  : { amd64 = file("ERROR: containerd_sha256 has no SHA-256 sums for containerd ${var.containerd_version} (add the release's sums per architecture, in src/domain/ami/runtime-versions.ts)"), arm64 = "" })
  runc_sha256 = (contains(keys(var.runc_sha256), var.runc_version)
    ? var.runc_sha256[var.runc_version]
  : { amd64 = file("ERROR: runc_sha256 has no SHA-256 sums for runc ${var.runc_version} (add the release's sums per architecture, in src/domain/ami/runtime-versions.ts)"), arm64 = "" })

  ami_tags = merge(var.extra_tags, {
    "kboot.io/version"            = var.kboot_version
    "kboot.io/kubernetes-version" = var.kubernetes_version
    "kboot.io/containerd-version" = var.containerd_version
    "kboot.io/runc-version"       = var.runc_version
    "kboot.io/manifest"           = "/usr/share/kboot/image-manifest.json"
    "kboot.io/base-ami"           = "{{ .SourceAMI }}"
    "kboot.io/base-ami-name"      = "{{ .SourceAMIName }}"
  })
}

# Settings shared by both architectures; the build block sets the per-architecture ones.
source "amazon-ebs" "node" {
  region       = var.region
  subnet_id    = var.subnet_id
  ssh_username = "admin"
  # Packer's temporary key leaves the image (90-cleanup.sh removes it too).
  ssh_clear_authorized_keys = true

  ami_description = "kboot ${var.kboot_version} node: Kubernetes ${var.kubernetes_version}, containerd ${var.containerd_version}, Debian 12"
  ami_regions     = var.ami_regions
  ami_users       = local.checked_ami_users
  encrypt_boot    = var.encrypt_boot
  kms_key_id      = var.kms_key_id
  ena_support     = true

  # Instances launched from the AMI answer IMDSv2 only (a launch template may not re-enable v1).
  # amazon plugin >= 1.1; Packer 1.6 does not know it (the tests check it here and validate a
  # copy without it).
  imds_support = "v2.0"

  # The build instance too: tokens required, and a hop limit of 1 keeps any container the build
  # runs away from its credentials.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # SSH (port 22) of the build instance is open only to the address Packer connects from, not to
  # 0.0.0.0/0: the CIDRs given, or else Packer's own public IP.
  temporary_security_group_source_cidrs     = var.ssh_source_cidrs
  temporary_security_group_source_public_ip = length(var.ssh_source_cidrs) == 0

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = var.root_volume_size_gb
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    delete_on_termination = true
  }

  run_tags = {
    Name                   = "packer: kboot AMI build"
    "kboot.io/ami-builder" = "true"
  }
}

build {
  source "amazon-ebs.node" {
    name          = "x86_64"
    instance_type = var.instance_types["x86_64"]
    ami_name      = "${var.ami_name_prefix}-${local.ami_name_version}-k8s-${var.kubernetes_version}-x86_64-${local.build_timestamp}"
    tags          = merge(local.ami_tags, { Name = "kboot ${var.kboot_version} k8s ${var.kubernetes_version} x86_64", "kboot.io/arch" = "x86_64" })
    snapshot_tags = merge(local.ami_tags, { "kboot.io/arch" = "x86_64" })

    source_ami_filter {
      owners      = [var.base_ami_owner]
      most_recent = true
      filters = {
        name                = "${var.base_ami_name}-amd64-*"
        architecture        = "x86_64"
        virtualization-type = "hvm"
        root-device-type    = "ebs"
        state               = "available"
      }
    }
  }

  source "amazon-ebs.node" {
    name          = "arm64"
    instance_type = var.instance_types["arm64"]
    ami_name      = "${var.ami_name_prefix}-${local.ami_name_version}-k8s-${var.kubernetes_version}-arm64-${local.build_timestamp}"
    tags          = merge(local.ami_tags, { Name = "kboot ${var.kboot_version} k8s ${var.kubernetes_version} arm64", "kboot.io/arch" = "arm64" })
    snapshot_tags = merge(local.ami_tags, { "kboot.io/arch" = "arm64" })

    source_ami_filter {
      owners      = [var.base_ami_owner]
      most_recent = true
      filters = {
        name                = "${var.base_ami_name}-arm64-*"
        architecture        = "arm64"
        virtualization-type = "hvm"
        root-device-type    = "ebs"
        state               = "available"
      }
    }
  }

  provisioner "shell" {
    inline = ["mkdir -p ${local.build_dir}/files"]
  }

  # Units and configuration files (packer/files/), then this architecture's kboot binary.
  provisioner "file" {
    source      = "${path.root}/files/"
    destination = "${local.build_dir}/files"
  }

  provisioner "file" {
    source      = "${local.kboot_binary_dir}/kboot-linux-${local.kboot_arch[source.name]}"
    destination = "${local.build_dir}/kboot"
  }

  provisioner "shell" {
    execute_command = "chmod +x '{{ .Path }}' && sudo env {{ .Vars }} '{{ .Path }}'"
    environment_vars = [
      "KBOOT_BUILD_DIR=${local.build_dir}",
      "KBOOT_VERSION=${var.kboot_version}",
      "KUBERNETES_VERSION=${var.kubernetes_version}",
      "KUBERNETES_PACKAGE_REVISION=${var.kubernetes_package_revision}",
      "KUBERNETES_APT_KEY_FINGERPRINT=${var.kubernetes_apt_key_fingerprint}",
      "CRI_TOOLS_VERSION=${local.kubernetes_packages["cri_tools"]}",
      "KUBERNETES_CNI_VERSION=${local.kubernetes_packages["kubernetes_cni"]}",
      "CONTAINERD_VERSION=${var.containerd_version}",
      "CONTAINERD_SHA256=${lookup(local.containerd_sha256, local.debian_arch[source.name], "")}",
      "RUNC_VERSION=${var.runc_version}",
      "RUNC_SHA256=${lookup(local.runc_sha256, local.debian_arch[source.name], "")}",
      "UPGRADE_OS_PACKAGES=${var.upgrade_os_packages}",
      "PREPULL_IMAGES=${var.prepull_images}",
    ]
    scripts = [
      "${path.root}/scripts/10-base.sh",
      "${path.root}/scripts/20-kernel.sh",
      "${path.root}/scripts/25-node-os.sh",
      "${path.root}/scripts/30-kubernetes.sh",
      "${path.root}/scripts/40-containerd.sh",
      "${path.root}/scripts/50-images.sh",
      "${path.root}/scripts/60-kboot.sh",
      "${path.root}/scripts/80-manifest.sh",
      "${path.root}/scripts/90-cleanup.sh",
    ]
  }

  # The image manifest 80-manifest.sh wrote (every package, binary and image with its version and
  # checksum), kept on the image and downloaded beside packer-manifest.json.
  provisioner "file" {
    direction   = "download"
    source      = "/usr/share/kboot/image-manifest.json"
    destination = "${local.artifact_dir}/image-manifest-${source.name}.json"
  }

  # packer-manifest.json beside packer/ (build/): one entry per architecture with the AMI id per
  # region and the versions it was built with, for the pipeline that publishes the AMIs.
  post-processor "manifest" {
    output     = var.manifest_path != "" ? var.manifest_path : "${local.artifact_dir}/packer-manifest.json"
    strip_path = true
    custom_data = {
      kboot_version          = var.kboot_version
      kubernetes_version     = var.kubernetes_version
      cri_tools_version      = local.kubernetes_packages["cri_tools"]
      kubernetes_cni_version = local.kubernetes_packages["kubernetes_cni"]
      containerd_version     = var.containerd_version
      runc_version           = var.runc_version
    }
  }
}
