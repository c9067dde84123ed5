// SPDX-License-Identifier: MIT
/*
 * voltfs: options, mount and the session loop. Everything the mount shows
 * comes from the catalog (core) through the operations in ops.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "confine.h"
#include "voltfs/render.h"
#include "passthrough.h"
#include "supervise.h"
#include "voltfs.h"

struct options {
	char *cas;
	int memory;
	int cpus;
	char *rootfs;
	char *kernel;
	int noverify;
	int keep_cas_cache;
	int noconfine;
	int nopassthrough;
	char *loglevel;
	char *kvm;
	unsigned int max_fds;
	unsigned int readahead_kb;
	unsigned int max_read;
	int help;
	int version;
	/* -o registry= (each one a mirror, in order) and its settings */
	char *registries[8];
	unsigned int n_registries;
	char *registry_ca;
	char *registry_auth;
	unsigned int registry_refresh;
	unsigned int registry_timeout;
	unsigned int prefetch;
	char *cache_max;
	int supervise;
};

enum { KEY_HELP, KEY_VERSION, KEY_MAX_READ, KEY_REGISTRY };

static const struct fuse_opt option_spec[] = {
	{ "memory=%d", offsetof(struct options, memory), 0 },
	{ "cpus=%d", offsetof(struct options, cpus), 0 },
	{ "rootfs=%s", offsetof(struct options, rootfs), 0 },
	{ "kernel=%s", offsetof(struct options, kernel), 0 },
	{ "noverify", offsetof(struct options, noverify), 1 },
	{ "loglevel=%s", offsetof(struct options, loglevel), 0 },
	{ "kvm=%s", offsetof(struct options, kvm), 0 },
	{ "max_fds=%u", offsetof(struct options, max_fds), 0 },
	{ "readahead_kb=%u", offsetof(struct options, readahead_kb), 0 },
	/* Seen here and kept for libfuse: the init reply must repeat it. */
	FUSE_OPT_KEY("max_read=", KEY_MAX_READ),
	{ "keep_cas_cache", offsetof(struct options, keep_cas_cache), 1 },
	{ "noconfine", offsetof(struct options, noconfine), 1 },
	{ "nopassthrough", offsetof(struct options, nopassthrough), 1 },
	FUSE_OPT_KEY("registry=", KEY_REGISTRY),
	{ "registry_ca=%s", offsetof(struct options, registry_ca), 0 },
	{ "registry_auth=%s", offsetof(struct options, registry_auth), 0 },
	{ "registry_refresh=%u", offsetof(struct options, registry_refresh), 0 },
	{ "registry_timeout=%u", offsetof(struct options, registry_timeout), 0 },
	{ "prefetch=%u", offsetof(struct options, prefetch), 0 },
	{ "cache_max=%s", offsetof(struct options, cache_max), 0 },
	{ "supervise", offsetof(struct options, supervise), 1 },
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

static int option_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options *o = data;

	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!o->cas) {
			o->cas = strdup(arg);
			return o->cas ? 0 : -1;
		}
		return 1; /* the mount point, for fuse_parse_cmdline */
	case KEY_HELP:
		o->help = 1;
		return 0;
	case KEY_VERSION:
		o->version = 1;
		return 0;
	case KEY_REGISTRY:
		if (o->n_registries == sizeof(o->registries) / sizeof(o->registries[0])) {
			fprintf(stderr, "voltfs: at most %zu registries\n",
				sizeof(o->registries) / sizeof(o->registries[0]));
			return -1;
		}
		o->registries[o->n_registries] = strdup(arg + strlen("registry="));
		return o->registries[o->n_registries++] ? 0 : -1;
	case KEY_MAX_READ:
		if (sscanf(arg, "max_read=%u", &o->max_read) != 1)
			return -1;
		return 1;
	}
	return 1;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: voltfs [-o OPTIONS] CAS_DIR MOUNTPOINT\n"
		"\n"
		"Serve the QEMU profiles of the CAS at CAS_DIR, read-only, at MOUNTPOINT:\n"
		"MOUNTPOINT/<profile>/ holds bin/, lib/, firmware/ and the synthetic files\n"
		"args, env and unit, rendered for paths under MOUNTPOINT.\n"
		"\n"
		"voltfs options:\n"
		"    -o memory=MIB          guest memory in args and unit (default 256)\n"
		"    -o cpus=N              guest CPUs in args and unit (default 1)\n"
		"    -o rootfs=PATH         9p root file system in args and unit (default none)\n"
		"    -o kernel=PATH         kernel to boot in unit (default none)\n"
		"    -o noverify            serve objects without checking them against their "
		"names\n"
		"    -o max_fds=N           object descriptors kept open at most (default 1024)\n"
		"    -o readahead_kb=N      the mount's read-ahead (default 1024; 0 keeps the "
		"kernel's)\n"
		"    -o keep_cas_cache      keep the store's pages cached after serving them (by\n"
		"                           default they are dropped: cached once, in the mount)\n"
		"    -o nopassthrough       serve every object's bytes from the daemon (by "
		"default\n"
		"                           the kernel reads objects from the store itself, where\n"
		"                           it can: FUSE passthrough, which needs CAP_SYS_ADMIN)\n"
		"    -o loglevel=LEVEL      error, warning, info (default) or debug; stderr in\n"
		"                           the foreground, else syslog\n"
		"    -o noconfine           serve unconfined: no NO_NEW_PRIVS, Landlock or\n"
		"                           dropped capabilities once mounted\n"
		"    -o kvm=auto|yes|no     whether the default link counts KVM profiles: auto\n"
		"                           (default) when /dev/kvm is a character device\n"
		"    -o registry=ADDR       fill CAS_DIR (a cache) on demand from the OCI\n"
		"                           registry [http://]HOST[:PORT]/REPO; given again,\n"
		"                           mirrors tried in turn\n"
		"    -o registry_refresh=S  check each profile's tag again every S s (default 60)\n"
		"    -o registry_timeout=S  a transfer with no byte for S s fails (default 10)\n"
		"    -o prefetch=N          fetch a build that starts serving in the background,\n"
		"                           N objects at a time (default 0: only what is opened)\n"
		"    -o cache_max=SIZE      keep the cache's objects within SIZE (K, M, G, T):\n"
		"                           the least recently used that are not open go first\n"
		"    -o registry_ca=FILE    trust these CAs (PEM) instead of the system's\n"
		"    -o registry_auth=FILE  credentials (docker config.json / podman auth.json)\n"
		"    -o supervise           run under a holder that keeps the FUSE connection and\n"
		"                           starts the daemon again when it dies or hands over\n"
		"                           (SIGUSR1), where systemd's voltfs.service is not used\n"
		"    -h, --help             this text\n"
		"    -V, --version          the version\n"
		"\n");
}

/* -o kvm's value: its mode, or -1 for anything else. */
static int parse_kvm(const char *s)
{
	if (!s || strcmp(s, "auto") == 0)
		return VOLTFS_KVM_AUTO;
	if (strcmp(s, "yes") == 0)
		return VOLTFS_KVM_YES;
	if (strcmp(s, "no") == 0)
		return VOLTFS_KVM_NO;
	return -1;
}

/*
 * Every profile's unit carries the mount point (ExecStart='s executable path,
 * Environment=) and the rootfs and kernel (arguments): refuse at start what
 * systemd would refuse or read otherwise, and a newline, which would forge
 * lines in args and env as well.
 */
static int check_render_input(const char *what, const char *s, bool path)
{
	const char *why;

	if ((path ? volt_render_check_mountpoint(s, &why) : volt_render_check_arg(s, &why)) == 0)
		return 0;
	fprintf(stderr, "voltfs: %s cannot go into the unit: %s\n", what, why);
	return -1;
}

static int add_mount_options(struct fuse_args *args, const char *cas)
{
	char *opts = NULL, *fsname = NULL;
	int ret = -1;

	if (asprintf(&fsname, "fsname=%s", cas) < 0)
		return -1;
	/*
	 * Read-only, no setuid, no devices, whatever was asked (mount(8) passes
	 * "rw,dev,suid" for "defaults"): added last, so these win. The kernel
	 * checks modes itself (voltfs has no access op): with allow_other,
	 * access(X_OK) on a 0444 file must not say yes.
	 */
	if (fuse_opt_add_opt_escaped(&opts, fsname) == 0 &&
	    fuse_opt_add_opt(&opts, "ro,nosuid,nodev,default_permissions") == 0 &&
	    fuse_opt_add_arg(args, "-o") == 0 && fuse_opt_add_arg(args, opts) == 0)
		ret = 0;
	free(fsname);
	free(opts);
	return ret;
}

/*
 * The kernel gives a FUSE mount 128 KiB of read-ahead and INIT can only lower
 * it, so a cold sequential read asks one small request at a time. The mount's
 * bdi ("0:<minor>", from mountinfo: no request to ourselves) takes a larger
 * window, as ext4 has; written once INIT is done, or INIT would undo it, but
 * opened right after mounting: a confined daemon can open neither file.
 */
void voltfs_readahead_prepare(struct voltfs *fs)
{
	char line[8192], dev[32], point[PATH_MAX], path[128];
	bool found = false;
	FILE *f;

	if (!fs->ra_pending)
		return;
	fs->ra_pending = 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (!found && fgets(line, sizeof(line), f))
		/* id parent major:minor root mountpoint ... */
		found = sscanf(line, "%*d %*d %31s %*s %4095s", dev, point) == 2 &&
			strcmp(point, fs->mountpoint) == 0;
	fclose(f);
	if (!found)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	fs->ra_fd = open(path, O_WRONLY | O_CLOEXEC);
	/* Not root, or no sysfs: the kernel's default stays. */
	fs->ra_pending = fs->ra_fd >= 0;
}

void voltfs_set_readahead(struct voltfs *fs)
{
	char val[16];
	int n;

	if (!__atomic_exchange_n(&fs->ra_pending, 0, __ATOMIC_ACQ_REL))
		return;
	n = snprintf(val, sizeof(val), "%u\n", fs->readahead_kb);
	if (write(fs->ra_fd, val, (size_t)n) != n)
		voltfs_log(LOG_WARNING, "read_ahead_kb: %s", strerror(errno));
	close(fs->ra_fd);
	fs->ra_fd = -1;
}

/* Raise the soft descriptor limit to the hard one; leave room for FUSE and logging. */
static unsigned int max_fds_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur <= 128)
		return 64;
	return rl.rlim_cur > 1u << 20 ? 1u << 20 : (unsigned int)rl.rlim_cur - 64;
}

/*
 * From here on the daemon only reads beneath the store (and answers on the
 * /dev/fuse it holds). Before any thread exists: the watch and libfuse's
 * workers start from this one and inherit its confinement.
 */
static int confine(const struct voltfs *fs, const struct fuse_cmdline_opts *cmd, const char *cas,
		   const char *registry_ca, struct voltfs_unmounter *um)
{
	struct voltfs_confine c = {
		.store = cas,
		.dev_fuse = cmd->clone_fd != 0,
		/* Passthrough's backing files need CAP_SYS_ADMIN: kept while it may be on. */
		.keep_sys_admin = voltfs_passthrough_on(fs),
		.exec_store = voltfs_passthrough_on(fs),
	};
	/*
	 * A lazy mount writes what it fetches, speaks TCP to its registries only,
	 * and reads what TLS and name lookups need: CAs, resolver files, NSS modules.
	 */
	char objects[PATH_MAX + 16], refs[PATH_MAX + 16];
	const char *writable[] = { objects, refs, NULL };
	const char *readable[] = {
		"/etc/ssl",	  "/usr/lib/ssl",     "/usr/share/ca-certificates",
		"/etc/hosts",	  "/etc/resolv.conf", "/etc/nsswitch.conf",
		"/etc/host.conf", "/etc/gai.conf",    "/lib",
		"/usr/lib",	  registry_ca,	      NULL
	};
	uint16_t ports[16];
	int ret;

	if (fs->remote.r) {
		snprintf(objects, sizeof(objects), "%s/objects", cas);
		snprintf(refs, sizeof(refs), "%s/refs", cas);
		c.writable = writable;
		c.readable = readable;
		volt_remote_ports(fs->remote.r, ports, sizeof(ports) / sizeof(ports[0]) - 1);
		ports[sizeof(ports) / sizeof(ports[0]) - 1] = 0;
		c.connect_ports = ports;
	}
	ret = voltfs_unmounter_start(um, fs->mountpoint);

	if (ret < 0) {
		voltfs_log(LOG_ERR, "unmount helper: %s", strerror(-ret));
		return ret;
	}
	return voltfs_confine_apply(&c);
}

/* The registries of -o registry=, or a message that says which is wrong: 0 or -1. */
static int open_remote(struct voltfs *fs, const struct options *o)
{
	struct volt_remote_opts ro = {
		.addrs = (const char *const *)o->registries,
		.n_addrs = o->n_registries,
		.ca_file = o->registry_ca,
		.auth_file = o->registry_auth,
		.connect_timeout_ms = 3000,
		.stall_timeout_s = (long)o->registry_timeout,
	};
	struct volt_diag d;
	char buf[1100];
	int ret;

	if (o->prefetch > 16) {
		fprintf(stderr, "voltfs: prefetch is 0 (off) to 16 fetches at a time\n");
		return -1;
	}
	if (o->registry_refresh < 1 || o->registry_timeout < 1) {
		fprintf(stderr, "voltfs: registry_refresh and registry_timeout are seconds, >= "
				"1\n");
		return -1;
	}
	volt_diag_clear(&d);
	ret = volt_remote_new(&fs->remote.r, &fs->cas, &ro, &d);
	if (ret < 0) {
		volt_diag_format(&d, buf, sizeof(buf));
		fprintf(stderr, "voltfs: %s\n", buf[0] ? buf : strerror(-ret));
		return -1;
	}
	if (o->cache_max) {
		char *end;
		double v = strtod(o->cache_max, &end);
		double unit = *end == 'K'   ? 1024.0
			      : *end == 'M' ? 1048576.0
			      : *end == 'G' ? 1073741824.0
			      : *end == 'T' ? 1099511627776.0
					    : 1.0;

		if (end == o->cache_max || v < 1 || (unit > 1 && end[1]) || (unit == 1 && *end)) {
			fprintf(stderr,
				"voltfs: cache_max is a size: bytes, or a number with K, M, G "
				"or T, not '%s'\n",
				o->cache_max);
			return -1;
		}
		ret = volt_remote_set_cache(fs->remote.r, (uint64_t)(v * unit),
					    voltfs_object_let_go, fs);
		fs->remote.cache_bounded = ret == 0;
		if (ret < 0) {
			fprintf(stderr, "voltfs: cache_max: cannot read %s/objects: %s\n",
				fs->cas.path, strerror(-ret));
			return -1;
		}
	}
	fs->remote.refresh_s = o->registry_refresh;
	fs->remote.prefetch = o->prefetch;
	return 0;
}

static int run(struct fuse_session *se, const struct fuse_cmdline_opts *cmd)
{
	struct fuse_loop_config *config;
	int ret;

	if (cmd->singlethread)
		return fuse_session_loop(se);
	config = fuse_loop_cfg_create();
	if (!config)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(config, (unsigned int)cmd->clone_fd);
	fuse_loop_cfg_set_max_threads(config, cmd->max_threads);
	if (cmd->max_idle_threads != UINT_MAX) /* UINT_MAX: not given */
		fuse_loop_cfg_set_idle_threads(config, cmd->max_idle_threads);
	ret = fuse_session_loop_mt(se, config);
	fuse_loop_cfg_destroy(config);
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd = { 0 };
	struct volt_catalog_opts copts = { 0 };
	struct options o = { .max_fds = 1024,
			     .readahead_kb = 1024,
			     .registry_refresh = 60,
			     .registry_timeout = 10 };
	struct voltfs fs = { .cas = { .root_fd = -1, .refs_fd = -1, .objects_fd = -1 },
			     .ra_fd = -1 };
	struct voltfs_unmounter um = { .pid = -1, .fd = -1 };
	char mnt[PATH_MAX], cas[PATH_MAX], refs[PATH_MAX + 8];
	int ret, level, kvm, status = 1;
	bool mounted = false, objects = false, verifier = false;

	if (fuse_opt_parse(&args, &o, option_spec, option_proc) < 0)
		return 2;
	if (o.help) {
		usage(stdout);
		printf("FUSE options:\n");
		fuse_cmdline_help();
		fuse_lowlevel_help();
		status = 0;
		goto out_args;
	}
	if (o.version) {
		printf("voltfs %s\nFUSE library version %s\n", VOLTFS_VERSION, fuse_pkgversion());
		status = 0;
		goto out_args;
	}
	if (fuse_parse_cmdline(&args, &cmd) != 0) {
		status = 2;
		goto out_args;
	}
	if (!o.cas || !cmd.mountpoint) {
		usage(stderr);
		status = 2;
		goto out_args;
	}
	if (o.supervise) {
		/* The holder checks nothing itself: the daemon it starts says what is wrong. */
		level = voltfs_log_level(o.loglevel ? o.loglevel : "info");
		status = voltfs_supervise_main(argc, argv, cmd.foreground != 0,
					       level < 0 ? LOG_INFO : level);
		goto out_args;
	}
	if (o.n_registries)
		(void)mkdir(o.cas, 0755); /* the cache of a lazy mount may be new */
	if (!realpath(cmd.mountpoint, mnt) || !realpath(o.cas, cas)) {
		fprintf(stderr, "voltfs: %s: %s\n", realpath(o.cas, cas) ? cmd.mountpoint : o.cas,
			strerror(errno));
		goto out_args;
	}
	kvm = parse_kvm(o.kvm);
	if (kvm < 0) {
		fprintf(stderr, "voltfs: kvm must be auto, yes or no, not '%s'\n", o.kvm);
		status = 2;
		goto out_args;
	}
	if (check_render_input("the mount point", mnt, true) ||
	    check_render_input("-o rootfs", o.rootfs, false) ||
	    check_render_input("-o kernel", o.kernel, false))
		goto out_args;
	/* A lazy mount's store is its cache: an empty folder will do. */
	ret = volt_cas_open(&fs.cas, cas, o.n_registries > 0);
	if (ret < 0) {
		fprintf(stderr, "voltfs: %s: not a CAS (need refs/ and objects/): %s\n", o.cas,
			strerror(-ret));
		goto out_args;
	}
	fs.mountpoint = mnt;
	fs.foreground = cmd.foreground;
	fs.verify = !o.noverify;
	fs.drop_cas_cache = !o.keep_cas_cache;
	fs.readahead_kb = o.readahead_kb;
	fs.ra_pending = o.readahead_kb != 0;
	fs.max_read = o.max_read;
	fs.kvm = (enum voltfs_kvm)kvm;
	fs.passthrough = !o.nopassthrough && voltfs_pass_built();
	level = voltfs_log_level(o.loglevel ? o.loglevel : "info");
	if (level < 0) {
		fprintf(stderr, "voltfs: loglevel must be error, warning, info or debug\n");
		goto out_cas;
	}
	if (o.max_fds < 1 || o.max_fds > max_fds_limit()) {
		fprintf(stderr, "voltfs: max_fds must be between 1 and %u (RLIMIT_NOFILE)\n",
			max_fds_limit());
		goto out_cas;
	}
	if (o.cache_max && !o.n_registries) {
		fprintf(stderr, "voltfs: cache_max bounds a lazy mount's cache: it needs "
				"registry=\n");
		goto out_cas;
	}
	if (o.n_registries && open_remote(&fs, &o) < 0)
		goto out_cas;
	copts.mountpoint = mnt;
	copts.render.memory = o.memory;
	copts.render.cpus = o.cpus;
	copts.render.rootfs = o.rootfs;
	copts.render.kernel = o.kernel;
	copts.report = voltfs_log_report;
	if (volt_catalog_new(&fs.catalog, &fs.cas, &copts) < 0 ||
	    voltfs_objects_init(&fs.objects, o.max_fds, fs.catalog) < 0) {
		fprintf(stderr, "voltfs: out of memory\n");
		goto out_cas;
	}
	objects = true;
	if (voltfs_verifier_init(&fs.verifier) < 0) {
		fprintf(stderr, "voltfs: out of memory\n");
		goto out_cas;
	}
	verifier = true;
	if (add_mount_options(&args, cas) < 0)
		goto out_cas;
	fs.se = fuse_session_new(&args, &voltfs_ops, sizeof(voltfs_ops), &fs);
	if (!fs.se)
		goto out_cas;
	if (fuse_set_signal_handlers(fs.se) != 0)
		goto out_session;
	if (fuse_session_mount(fs.se, mnt) != 0)
		goto out_signals;
	mounted = true;
	voltfs_log_init(cmd.foreground, level);
	if (fuse_daemonize(cmd.foreground) != 0)
		goto out_signals;
	voltfs_readahead_prepare(&fs);
	if (!o.noconfine && confine(&fs, &cmd, cas, o.registry_ca, &um) < 0)
		goto out_signals;
	/* After daemonizing: the thread must live in the process that serves. */
	snprintf(refs, sizeof(refs), "%s/refs", cas);
	ret = voltfs_watch_start(&fs, refs);
	if (ret < 0)
		voltfs_log(LOG_WARNING, "cannot watch %s (%s): ref changes show within %d s", refs,
			   strerror(-ret), 1);
	ret = fs.verify ? voltfs_verifier_start(&fs) : 0;
	if (ret < 0)
		voltfs_log(LOG_WARNING,
			   "no verifier thread (%s): large objects are hashed in the "
			   "FUSE workers",
			   strerror(-ret));
	if (voltfs_remote_start(&fs) < 0)
		voltfs_log(LOG_ERR, "cannot start the registry thread: tags are not refreshed");
	voltfs_log(LOG_INFO, "serving %s at %s", cas, mnt);
	ret = run(fs.se, &cmd);
	voltfs_verifier_stop(&fs);
	voltfs_remote_stop(&fs);
	voltfs_watch_stop(&fs);
	/* A signal (SIGTERM, SIGINT) is the normal way to stop: unmount and exit 0. */
	status = ret < 0 ? 1 : 0;
	if (ret < 0)
		voltfs_log(LOG_ERR, "session loop: %s", strerror(-ret));
out_signals:
	/* Confined, only the helper can unmount; libfuse then finds it done. */
	voltfs_unmounter_finish(&um, fuse_session_fd(fs.se));
	if (mounted)
		fuse_session_unmount(fs.se);
	fuse_remove_signal_handlers(fs.se);
out_session:
	fuse_session_destroy(fs.se);
out_cas:
	if (fs.ra_fd >= 0)
		close(fs.ra_fd);
	volt_catalog_free(fs.catalog);
	volt_remote_free(fs.remote.r);
	if (verifier)
		voltfs_verifier_release(&fs.verifier);
	if (objects)
		voltfs_objects_release(&fs.objects);
	volt_cas_release(&fs.cas);
out_args:
	free(cmd.mountpoint);
	free(o.cas);
	free(o.rootfs);
	free(o.kernel);
	free(o.loglevel);
	free(o.kvm);
	for (unsigned int i = 0; i < o.n_registries; i++)
		free(o.registries[i]);
	free(o.registry_ca);
	free(o.registry_auth);
	free(o.cache_max);
	fuse_opt_free_args(&args);
	return status;
}
