# Versions of what the kboot AMI installs. GENERATED from src/domain/kubeadm/versions.ts and
# src/domain/ami/runtime-versions.ts by `npm run packer:versions`: change those, not this file (a
# test checks that it is up to date). Override any of them with -var as usual.

variable "kubernetes_version" {
  type        = string
  default     = "1.37.1"
  description = "Kubernetes version of kubelet, kubeadm and kubectl (MAJOR.MINOR.PATCH); tagged kboot.io/kubernetes-version. Default: the newest release in kboot's table of Kubernetes minors. Its minor must have an entry in kubernetes_packages."

  validation {
    condition     = length(split(".", var.kubernetes_version)) == 3 && substr(var.kubernetes_version, 0, 1) != "v"
    error_message = "The kubernetes_version must be MAJOR.MINOR.PATCH without a leading v, such as 1.37.1."
  }
}

variable "kubernetes_packages" {
  type = map(map(string))
  default = {
    "1.35" = {
      cri_tools      = "1.35.0-1.1"
      kubernetes_cni = "1.8.0-1.1"
    }
    "1.36" = {
      cri_tools      = "1.36.0-1.1"
      kubernetes_cni = "1.9.1-1.1"
    }
    "1.37" = {
      cri_tools      = "1.37.0-1.1"
      kubernetes_cni = "1.9.1-1.1"
    }
  }
  description = "Per Kubernetes minor: the exact Debian versions of cri-tools and kubernetes-cni installed from that minor's pkgs.k8s.io repository (apt-get install cri-tools=<version>). A minor missing here stops the build."
}

variable "containerd_version" {
  type        = string
  default     = "2.3.2"
  description = "containerd release (github.com/containerd/containerd) installed in /usr/local; tagged kboot.io/containerd-version. 2.3 is containerd's LTS line (supported to April 2028); 1.7 reached its end of life in September 2026. Needs an entry in containerd_sha256."
}

variable "containerd_sha256" {
  type = map(map(string))
  default = {
    "2.3.2" = {
      amd64 = "75625e6f6595bb95f3fb9c8123a60534af4a8d9b52d7617065967bcefe71a17a"
      arm64 = "6874adea935300402b7782d63bf58f1bd59a3323d76a9f22f27686001fb8997a"
    }
  }
  description = "SHA-256 of containerd-<version>-linux-<amd64|arm64>.tar.gz, per containerd version and Debian architecture; the build checks the download against it (sha256sum -c) before unpacking and stops on a mismatch or a missing sum."
}

variable "runc_version" {
  type        = string
  default     = "1.3.4"
  description = "runc release (github.com/opencontainers/runc) installed as /usr/local/sbin/runc. Needs an entry in runc_sha256."
}

variable "runc_sha256" {
  type = map(map(string))
  default = {
    "1.3.4" = {
      amd64 = "5966ca40b6187b30e33bfc299c5f1fe72e8c1aa01cf3fefdadf391668f47f103"
      arm64 = "d6dcab36d1b6af1b72c7f0662e5fcf446a291271ba6006532b95c4144e19d428"
    }
  }
  description = "SHA-256 of runc.<amd64|arm64>, per runc version and Debian architecture; checked like containerd_sha256."
}
