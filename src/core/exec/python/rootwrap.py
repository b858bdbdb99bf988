# Starts bubblewrap for a host that runs as root, so that the sandbox's processes are an unprivileged host uid.
#
#   python3 -I -S rootwrap.py SPEC bwrap ARGS...     (SPEC: {"uid", "stage", "mounts": [{"src", "idmap"}], "report_fd"})
#
# As root, bubblewrap's own user namespace maps the sandbox's uid to host uid 0: /proc/sys, /etc/shadow and every
# other root-owned file then check the sandbox as their owner. Instead, this script (still root, in a mount namespace
# of its own) makes a user namespace that maps the sandbox's uid 1000 to SPEC.uid, a host uid no account uses, and
# hands it to bubblewrap (--userns @USERNS@). Folders the sandbox mounts from outside the system (data roots, the
# venv, the kernel's folder, ...) may lie below folders that uid cannot enter (/root is 0700), so each is mounted
# first at SPEC.stage/<i> (a tmpfs over an empty folder the host made, in this mount namespace only); bubblewrap binds
# them from there. Where the file system allows it the mount is id-mapped: files of the folder's owner appear as the
# sandbox's own and what the sandbox creates belongs to that owner on disk, as if the host user had written it.
# Where it does not (the kernel or file system lacks id-mapped mounts), the folder is bound as it is and the sandbox
# reaches it by its file modes; SPEC.report_fd gets a JSON line saying which. Nothing here runs after the exec.
import ctypes, json, os, sys, time

libc = ctypes.CDLL(None, use_errno=True)
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442
CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC = 1, 0o2000000
AT_FDCWD, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_RECURSIVE = -100, 0x100, 0x1000, 0x8000
MOUNT_ATTR_IDMAP, MOVE_MOUNT_F_EMPTY_PATH = 0x00100000, 0x4
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
SANDBOX_ID = 1000


class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def fail(what):
    e = ctypes.get_errno()
    raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def die(msg):
    sys.stderr.write("datatools sandbox (root host): %s\n" % msg)
    sys.exit(125)


def user_namespace(uid_map, gid_map):
    """A user namespace with these maps, held by an fd (its first process is gone by the time this returns)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        if libc.unshare(CLONE_NEWUSER) != 0:
            os._exit(1)
        os.read(r, 1)
        os._exit(0)
    os.close(r)
    try:
        own = os.readlink("/proc/self/ns/user")
        for _ in range(5000):
            if os.readlink("/proc/%d/ns/user" % pid) != own:
                break
            time.sleep(0.001)
        else:
            raise OSError("the user namespace was not created")
        with open("/proc/%d/uid_map" % pid, "w") as f:
            f.write(uid_map)
        with open("/proc/%d/setgroups" % pid, "w") as f:
            f.write("deny")
        with open("/proc/%d/gid_map" % pid, "w") as f:
            f.write(gid_map)
        return os.open("/proc/%d/ns/user" % pid, os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.write(w, b"x")
        os.close(w)
        os.waitpid(pid, 0)


def idmapped(src, dst, userns):
    fd = libc.syscall(SYS_OPEN_TREE, AT_FDCWD, src.encode(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW)
    if fd < 0:
        fail("open_tree")
    try:
        attr = MountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns)
        if libc.syscall(SYS_MOUNT_SETATTR, fd, b"", AT_EMPTY_PATH | AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
            fail("id-mapping")
        if libc.syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, dst.encode(), MOVE_MOUNT_F_EMPTY_PATH) != 0:
            fail("move_mount")
    finally:
        os.close(fd)


def main():
    spec = json.loads(sys.argv[1])
    uid, stage = int(spec["uid"]), spec["stage"]
    if uid <= 0:
        die("the sandbox uid must not be 0")
    argv = sys.argv[2:]
    if libc.unshare(CLONE_NEWNS) != 0:
        fail("a mount namespace")
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        fail("a private mount namespace")
    st = os.lstat(stage)
    if not os.path.isdir(stage) or os.path.islink(stage) or st.st_uid != 0 or os.listdir(stage):
        die("the staging folder %s is not an empty folder of root's" % stage)
    if libc.mount(b"datatools-stage", stage.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=65536") != 0:
        fail("the staging tmpfs")
    sandbox_ns = user_namespace("%d %d 1\n" % (SANDBOX_ID, uid), "%d %d 1\n" % (SANDBOX_ID, uid))
    os.set_inheritable(sandbox_ns, True)
    maps, notes = {}, []
    for i, m in enumerate(spec["mounts"]):
        src, dst = m["src"], "%s/%d" % (stage, i)
        s = os.lstat(src)
        if os.path.isdir(src) and not os.path.islink(src):
            os.mkdir(dst, 0o755)
        else:
            open(dst, "w").close()
        if m.get("idmap"):
            key = (s.st_uid, s.st_gid)
            try:
                if key not in maps:
                    maps[key] = user_namespace("%d %d 1\n" % (s.st_uid, uid), "%d %d 1\n" % (s.st_gid, uid))
                idmapped(src, dst, maps[key])
                continue
            except OSError as e:
                notes.append({"src": src, "reason": str(e)})
        if libc.mount(src.encode(), dst.encode(), None, MS_BIND | MS_REC, None) != 0:
            fail("bind %s" % src)
    for fd in maps.values():
        os.close(fd)
    rfd = spec.get("report_fd")
    if rfd is not None:
        try:
            os.write(int(rfd), (json.dumps({"uid": uid, "not_idmapped": notes}) + "\n").encode())
            os.close(int(rfd))
        except OSError:
            pass
    argv = [a.replace("@USERNS@", str(sandbox_ns)) for a in argv]
    os.execv(argv[0], argv)


try:
    main()
except OSError as e:
    die(str(e))
