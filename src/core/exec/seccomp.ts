import * as os from 'node:os';

/** A seccomp filter for bubblewrap's `--seccomp FD`: a classic BPF program (struct sock_filter[]) that refuses
 *  the system calls sandboxed analysis code never needs, after Flatpak's list. Built here, without libseccomp. */

/** x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). A unit test compares them with the
 *  kernel headers when those are installed. */
export const X86_64_DENIED: Readonly<Record<string, number>> = Object.freeze({
  // mounts and filesystem views
  mount: 165, umount2: 166, pivot_root: 155, chroot: 161, open_tree: 428, move_mount: 429, fsopen: 430,
  fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
  // namespaces
  unshare: 272, setns: 308,
  // other processes' memory
  ptrace: 101, process_vm_readv: 310, process_vm_writev: 311, kcmp: 312, pidfd_getfd: 438,
  // kernel keyring
  keyctl: 250, add_key: 248, request_key: 249,
  // kernel programs and tracing
  bpf: 321, perf_event_open: 298, userfaultfd: 323, lookup_dcookie: 212, fanotify_init: 300,
  // io_uring bypasses this filter for the calls it performs
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
  // modules, kexec, machine state
  init_module: 175, finit_module: 313, delete_module: 176, kexec_load: 246, kexec_file_load: 320,
  reboot: 169, swapon: 167, swapoff: 168, syslog: 103, acct: 163, quotactl: 179, quotactl_fd: 443,
  settimeofday: 164, clock_settime: 227, clock_adjtime: 305, adjtimex: 159, sethostname: 170, setdomainname: 171,
  iopl: 172, ioperm: 173, vhangup: 153, uselib: 134, modify_ldt: 154, nfsservctl: 180,
  // handles that bypass mount namespaces
  open_by_handle_at: 304, name_to_handle_at: 303,
});

const NR = { ioctl: 16, clone: 56, clone3: 435, personality: 135 };
/** personality(2): only the default persona (PER_LINUX) and the query (0xffffffff), as in Flatpak's filter:
 *  ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, MMAP_PAGE_ZERO and the rest change how memory is laid out. */
const PER_LINUX = 0;
const PER_QUERY = 0xffffffff;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET */
const CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;
const EPERM = 1;
const ENOSYS = 38;

const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_JSET_K = 0x45;
const BPF_RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;

type Ins = { code: number; k: number; jt?: string; jf?: string; label?: string };

/** Assembles labelled instructions: conditional jumps name their targets; fall-through is the next one. */
function assemble(prog: Ins[]): Buffer {
  const at = new Map<string, number>();
  prog.forEach((ins, i) => { if (ins.label) at.set(ins.label, i); });
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((ins, i) => {
    const off = (l?: string) => {
      if (!l) return 0;
      const t = at.get(l);
      if (t === undefined || t <= i || t - i - 1 > 255) throw new Error(`seccomp: bad jump to ${l}`);
      return t - i - 1;
    };
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(off(ins.jt), i * 8 + 2);
    buf.writeUInt8(off(ins.jf), i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf;
}

export interface SeccompFilter { program?: Buffer; description: string }

/** The filter for this machine, or the reason there is none. */
export function seccompFilter(arch: string = os.arch()): SeccompFilter {
  if (arch !== 'x64') {
    return { description: `no seccomp filter: the system call table for ${arch} is not built in (only x86_64); namespaces, no capabilities and no_new_privs still apply` };
  }
  const prog: Ins[] = [
    { code: BPF_LD_W_ABS, k: 4 },                                   // seccomp_data.arch
    { code: BPF_JEQ_K, k: AUDIT_ARCH_X86_64, jf: 'eperm' },         // i386 entry points: refused
    { code: BPF_LD_W_ABS, k: 0 },                                   // seccomp_data.nr
    { code: BPF_JGE_K, k: X32_SYSCALL_BIT, jt: 'eperm' },           // x32 ABI: refused
    ...Object.values(X86_64_DENIED).map(nr => ({ code: BPF_JEQ_K, k: nr, jt: 'eperm' })),
    // clone3's flags live in memory the filter cannot read: ENOSYS makes libc fall back to clone
    { code: BPF_JEQ_K, k: NR.clone3, jt: 'enosys' },
    { code: BPF_JEQ_K, k: NR.clone, jt: 'clone' },
    { code: BPF_JEQ_K, k: NR.ioctl, jt: 'ioctl' },
    { code: BPF_JEQ_K, k: NR.personality, jt: 'personality' },
    { code: BPF_RET_K, k: RET_ALLOW },
    { label: 'personality', code: BPF_LD_W_ABS, k: 16 },            // args[0], low word: the kernel takes an unsigned int
    { code: BPF_JEQ_K, k: PER_LINUX, jt: 'allow' },
    { code: BPF_JEQ_K, k: PER_QUERY, jt: 'allow' },
    { code: BPF_RET_K, k: RET_ERRNO | EPERM },
    { label: 'clone', code: BPF_LD_W_ABS, k: 16 },                  // args[0], low word: the flags
    { code: BPF_JSET_K, k: CLONE_NS_FLAGS, jt: 'eperm' },
    { code: BPF_RET_K, k: RET_ALLOW },
    { label: 'ioctl', code: BPF_LD_W_ABS, k: 24 },                  // args[1], low word: the kernel reads an int
    { code: BPF_JEQ_K, k: TIOCSTI, jt: 'eperm' },
    { code: BPF_JEQ_K, k: TIOCLINUX, jt: 'eperm' },
    { code: BPF_RET_K, k: RET_ALLOW },
    { label: 'allow', code: BPF_RET_K, k: RET_ALLOW },
    { label: 'eperm', code: BPF_RET_K, k: RET_ERRNO | EPERM },
    { label: 'enosys', code: BPF_RET_K, k: RET_ERRNO | ENOSYS },
  ];
  return {
    program: assemble(prog),
    description: `seccomp filter (x86_64): ${Object.keys(X86_64_DENIED).length} system calls refused with EPERM (mount family, unshare/setns, ptrace, process_vm_*, keyctl, bpf, perf_event_open, modules, kexec, userfaultfd, io_uring, ...), namespace flags on clone, TIOCSTI, personality other than the default`,
  };
}
