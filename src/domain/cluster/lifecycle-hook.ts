/**
 * The Auto Scaling termination lifecycle hook kboot's instances expect: `kboot cluster create`
 * puts it on every group it makes, and `kboot leave` completes it (README: "Launch templates and
 * Auto Scaling groups" says how to add it to groups made by other tools).
 */
export const LEAVE_LIFECYCLE_HOOK = {
  name: 'kboot-leave',
  transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
  /** What Auto Scaling does when the heartbeat lapses: terminate anyway. */
  defaultResult: 'CONTINUE',
  /** `kboot leave` records a heartbeat well inside this while it drains. */
  heartbeatTimeoutSeconds: 300,
} as const;
