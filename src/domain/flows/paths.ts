/** Where the boot flows keep their files, as paths on the instance (resolved under --root). */
export const KBOOT_STATE_DIR = '/var/lib/kboot';
export const INIT_CONFIG_PATH = '/var/lib/kboot/kubeadm/init.yaml';
export const JOIN_CONFIG_PATH = '/var/lib/kboot/kubeadm/join.yaml';
export const MEMBERSHIP_PATH = '/var/lib/kboot/membership.json';
export const KUBELET_CONF_PATH = '/etc/kubernetes/kubelet.conf';
export const ADMIN_CONF_PATH = '/etc/kubernetes/admin.conf';
export const CA_CERT_PATH = '/etc/kubernetes/pki/ca.crt';
export const DEFAULT_PATCHES_DIR = '/etc/kboot/kubeadm-patches';
