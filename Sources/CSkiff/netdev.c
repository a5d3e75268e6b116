// Moving a host network interface into a container's network namespace (linux.netDevices,
// config-linux.md "Network Devices") over rtnetlink: the NLMSG_* and RTA_* macros are C.
#define _GNU_SOURCE
#include "CSkiff.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

unsigned int if_nametoindex(const char *ifname); // <net/if.h> clashes with <linux/if.h>

#define NL_BUF 16384
#define MAX_ADDRS 64

struct nl_req {
    struct nlmsghdr h;
    char body[1024];
};

static int nl_open(void) {
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0) return -errno;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0) { int e = errno; close(s); return -e; }
    return s;
}

// An RTM_NEWLINK request for link `index` (attributes or flags to be added by the caller).
static struct ifinfomsg *link_request(struct nl_req *req, int index) {
    memset(req, 0, sizeof *req);
    req->h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    req->h.nlmsg_type = RTM_NEWLINK;
    struct ifinfomsg *ifi = NLMSG_DATA(&req->h);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    return ifi;
}

static void add_attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len) {
    struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = RTA_LENGTH(len);
    if (len) memcpy(RTA_DATA(rta), data, len);
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

// Sends a request and waits for its acknowledgement: 0 or -errno.
static int nl_talk(int s, struct nlmsghdr *h) {
    static unsigned seq = 1;
    h->nlmsg_seq = ++seq;
    h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (send(s, h, h->nlmsg_len, 0) < 0) return -errno;
    char buf[NL_BUF];
    for (;;) {
        ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n < 0) { if (errno == EINTR) continue; return -errno; }
        for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (unsigned)n); r = NLMSG_NEXT(r, n)) {
            if (r->nlmsg_seq != h->nlmsg_seq) continue;
            if (r->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
        }
    }
}

// The index and name of link `index` (or, if gone, of the last link whose name matches
// `name`, "%d" standing for digits) in the namespace of socket `s`.
static int find_link(int s, int index, const char *name, char *found, size_t found_len) {
    struct nl_req req = {0};
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    req.h.nlmsg_type = RTM_GETLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = 424242;
    if (send(s, &req, req.h.nlmsg_len, 0) < 0) return -errno;
    const char *pct = strstr(name, "%d");
    size_t pre = pct ? (size_t)(pct - name) : strlen(name);
    int by_index = 0, by_name = 0;
    char name_index[IFNAMSIZ] = "", name_name[IFNAMSIZ] = "";
    char buf[NL_BUF];
    for (;;) {
        ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n < 0) { if (errno == EINTR) continue; return -errno; }
        int done = 0;
        for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (unsigned)n); r = NLMSG_NEXT(r, n)) {
            if (r->nlmsg_type == NLMSG_DONE) { done = 1; break; }
            if (r->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
            if (r->nlmsg_type != RTM_NEWLINK) continue;
            struct ifinfomsg *ifi = NLMSG_DATA(r);
            int len = r->nlmsg_len - NLMSG_LENGTH(sizeof *ifi);
            const char *ifname = NULL;
            for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == IFLA_IFNAME) ifname = RTA_DATA(a);
            if (!ifname) continue;
            if (ifi->ifi_index == index) { by_index = index; strncpy(name_index, ifname, IFNAMSIZ - 1); }
            int match = pct ? strncmp(ifname, name, pre) == 0 && strspn(ifname + pre, "0123456789") == strlen(ifname + pre) && ifname[pre]
                            : strcmp(ifname, name) == 0;
            if (match) { by_name = ifi->ifi_index; strncpy(name_name, ifname, IFNAMSIZ - 1); }
        }
        if (done) break;
    }
    // The moved link keeps its index unless the namespace had it already.
    int pick = by_index && (pct ? strncmp(name_index, name, pre) == 0 : strcmp(name_index, name) == 0) ? by_index : by_name;
    if (!pick) return -ENODEV;
    snprintf(found, found_len, "%s", pick == by_index ? name_index : name_name);
    return pick;
}

int skiff_netdev_move(const char *name, int nsfd, const char *newname, int *step, char *final_name, size_t final_len) {
    *step = 1;
    int index = (int)if_nametoindex(name);
    if (index == 0) return -errno;
    int s = nl_open();
    if (s < 0) return s;
    int rc = 0, t = -1, orig = -1;

    // 2. Its permanent addresses of global scope, kept as RTM_NEWADDR requests for later: moving
    // a device to another namespace flushes them.
    *step = 2;
    static struct nl_req addrs[MAX_ADDRS];
    int naddrs = 0;
    {
        struct nl_req req = {0};
        req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
        req.h.nlmsg_type = RTM_GETADDR;
        req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        req.h.nlmsg_seq = 4242;
        if (send(s, &req, req.h.nlmsg_len, 0) < 0) { rc = -errno; goto out; }
        char buf[NL_BUF];
        for (int done = 0; !done;) {
            ssize_t n = recv(s, buf, sizeof buf, 0);
            if (n < 0) { if (errno == EINTR) continue; rc = -errno; goto out; }
            for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (unsigned)n); r = NLMSG_NEXT(r, n)) {
                if (r->nlmsg_type == NLMSG_DONE) { done = 1; break; }
                if (r->nlmsg_type == NLMSG_ERROR) { rc = ((struct nlmsgerr *)NLMSG_DATA(r))->error; goto out; }
                if (r->nlmsg_type != RTM_NEWADDR) continue;
                struct ifaddrmsg *ifa = NLMSG_DATA(r);
                if ((int)ifa->ifa_index != index || ifa->ifa_scope != RT_SCOPE_UNIVERSE) continue;
                uint32_t flags = ifa->ifa_flags;
                int len = r->nlmsg_len - NLMSG_LENGTH(sizeof *ifa);
                for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
                    if (a->rta_type == IFA_FLAGS) memcpy(&flags, RTA_DATA(a), 4);
                if (!(flags & IFA_F_PERMANENT) || naddrs == MAX_ADDRS) continue;
                struct nl_req *q = &addrs[naddrs++];
                memset(q, 0, sizeof *q);
                q->h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
                q->h.nlmsg_type = RTM_NEWADDR;
                q->h.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
                struct ifaddrmsg *m = NLMSG_DATA(&q->h);
                *m = *ifa;
                len = r->nlmsg_len - NLMSG_LENGTH(sizeof *ifa);
                for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
                    if (a->rta_type == IFA_LOCAL || a->rta_type == IFA_ADDRESS || a->rta_type == IFA_BROADCAST || a->rta_type == IFA_FLAGS)
                        add_attr(&q->h, a->rta_type, RTA_DATA(a), RTA_PAYLOAD(a));
            }
        }
    }

    // A socket in the container's namespace (sockets stay in the namespace they were made in).
    *step = 4;
    orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (orig < 0) { rc = -errno; goto out; }
    if (setns(nsfd, CLONE_NEWNET) != 0) { rc = -errno; goto out; }
    t = nl_open();
    if (setns(orig, CLONE_NEWNET) != 0) { rc = -errno; goto out; } // cannot happen: we came from there
    if (t < 0) { rc = t; goto out; }
    // A fixed name the container already has: refuse before moving (the kernel would move the
    // device, then fail to rename it, and the device would go with the namespace).
    if (newname && *newname && !strstr(newname, "%d")) {
        char seen[IFNAMSIZ];
        if (find_link(t, -1, newname, seen, sizeof seen) > 0) { *step = 3; rc = -EEXIST; goto out; }
    }

    // 3. The move, renamed on the way (the kernel fills in a "%d" template; a fixed name taken
    // in the target was refused above).
    *step = 3;
    {
        struct nl_req req;
        link_request(&req, index);
        uint32_t fd = (uint32_t)nsfd;
        add_attr(&req.h, IFLA_NET_NS_FD, &fd, 4);
        if (newname && *newname && strcmp(newname, name) != 0) add_attr(&req.h, IFLA_IFNAME, newname, strlen(newname) + 1);
        if ((rc = nl_talk(s, &req.h)) != 0) goto out;
    }

    // Then up, and the addresses back.
    const char *want = newname && *newname ? newname : name;
    int moved = find_link(t, index, want, final_name, final_len);
    if (moved < 0) { rc = moved; goto out; }
    *step = 5;
    {
        struct nl_req req;
        struct ifinfomsg *ifi = link_request(&req, moved);
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        if ((rc = nl_talk(t, &req.h)) != 0) goto out;
    }
    *step = 6;
    for (int i = 0; i < naddrs; i++) {
        ((struct ifaddrmsg *)NLMSG_DATA(&addrs[i].h))->ifa_index = moved;
        if ((rc = nl_talk(t, &addrs[i].h)) != 0) goto out;
    }
    rc = 0;
out:
    if (orig >= 0) close(orig);
    if (t >= 0) close(t);
    close(s);
    return rc;
}

int skiff_if_exists(const char *name) { return if_nametoindex(name) != 0; }
