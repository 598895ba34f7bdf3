/*
 * impair: loss, delay, jitter and reordering for the NAT lab, in user space.
 *
 * The lab would use `tc qdisc ... netem`, but kernels built without CONFIG_NET_SCH_NETEM (this
 * project's CI machines among them) have no netem. This does the same job through NFQUEUE: the
 * test sends a router namespace's forwarded packets to a queue (iptables -j NFQUEUE), and this
 * program, run inside that namespace, decides each packet's fate: dropped with probability LOSS,
 * otherwise accepted after DELAY ms plus a uniform random JITTER; with probability REORDER a
 * packet skips the delay (as netem's `reorder` does), so it overtakes the ones held back.
 *
 *   impair QUEUE LOSS DELAY_MS JITTER_MS REORDER SEED
 *   e.g. impair 0 0.10 100 10 0.25 1
 *
 * Prints "ready" on stdout once bound to the queue; runs until SIGTERM/SIGINT; prints counts on
 * exit. Verdicts are given out of order, which the kernel allows. Only the packet ids are copied
 * to user space, never the payloads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Verdicts (linux/netfilter.h, which clashes with netinet/in.h). */
#define VERDICT_DROP 0
#define VERDICT_ACCEPT 1
#define HEAP_MAX 65536

struct held {
  double release_ms;
  uint32_t id;
};

static struct held heap[HEAP_MAX];
static int heap_len = 0;
static struct nfq_q_handle *queue;
static double loss, delay_ms, jitter_ms, reorder;
static unsigned long long seen, dropped, delayed, reordered, overflow;
static volatile sig_atomic_t stopping = 0;
static uint64_t rng_state;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* xorshift64*: reproducible for a given seed, independent of libc's rand. */
static double uniform(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void heap_push(struct held h) {
  int i = heap_len++;
  while (i > 0) {
    int parent = (i - 1) / 2;
    if (heap[parent].release_ms <= h.release_ms) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = h;
}

static struct held heap_pop(void) {
  struct held top = heap[0];
  struct held last = heap[--heap_len];
  int i = 0;
  for (;;) {
    int child = 2 * i + 1;
    if (child >= heap_len) break;
    if (child + 1 < heap_len && heap[child + 1].release_ms < heap[child].release_ms) child++;
    if (heap[child].release_ms >= last.release_ms) break;
    heap[i] = heap[child];
    i = child;
  }
  if (heap_len > 0) heap[i] = last;
  return top;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
  (void)msg;
  (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (ph == NULL) return 0;
  uint32_t id = ntohl(ph->packet_id);
  seen++;
  if (uniform() < loss) {
    dropped++;
    return nfq_set_verdict(qh, id, VERDICT_DROP, 0, NULL);
  }
  if (uniform() < reorder || heap_len >= HEAP_MAX) {
    if (heap_len >= HEAP_MAX) overflow++;
    else reordered++;
    return nfq_set_verdict(qh, id, VERDICT_ACCEPT, 0, NULL);
  }
  delayed++;
  heap_push((struct held){now_ms() + delay_ms + uniform() * jitter_ms, id});
  return 0;
}

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: impair QUEUE LOSS DELAY_MS JITTER_MS REORDER SEED\n");
    return 2;
  }
  int queue_num = atoi(argv[1]);
  loss = atof(argv[2]);
  delay_ms = atof(argv[3]);
  jitter_ms = atof(argv[4]);
  reorder = atof(argv[5]);
  rng_state = (uint64_t)strtoull(argv[6], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
  if (loss < 0 || loss > 1 || reorder < 0 || reorder > 1 || delay_ms < 0 || jitter_ms < 0) {
    fprintf(stderr, "impair: LOSS and REORDER are probabilities in [0, 1]; delays are >= 0\n");
    return 2;
  }
  struct nfq_handle *h = nfq_open();
  if (h == NULL) {
    perror("impair: nfq_open");
    return 1;
  }
  queue = nfq_create_queue(h, (uint16_t)queue_num, &on_packet, NULL);
  if (queue == NULL) {
    perror("impair: nfq_create_queue");
    return 1;
  }
  if (nfq_set_mode(queue, NFQNL_COPY_META, 0) < 0) {
    perror("impair: nfq_set_mode");
    return 1;
  }
  nfq_set_queue_maxlen(queue, HEAP_MAX);
  int fd = nfq_fd(h);
  int rcvbuf = 8 * 1024 * 1024;
  nfnl_rcvbufsiz(nfq_nfnlh(h), rcvbuf);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  printf("ready\n");
  fflush(stdout);

  char buf[4096] __attribute__((aligned));
  while (!stopping) {
    double now = now_ms();
    while (heap_len > 0 && heap[0].release_ms <= now) {
      struct held h0 = heap_pop();
      nfq_set_verdict(queue, h0.id, VERDICT_ACCEPT, 0, NULL);
    }
    int timeout = heap_len > 0 ? (int)(heap[0].release_ms - now) + 1 : 100;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, timeout);
    if (r < 0 && errno != EINTR) {
      perror("impair: poll");
      break;
    }
    if (r > 0) {
      /* Drain everything queued now: one packet per recv. */
      for (;;) {
        int n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
          if (errno == ENOBUFS) { /* the kernel dropped some: netem would have too */
            overflow++;
            continue;
          }
          break;
        }
        nfq_handle_packet(h, buf, n);
      }
    }
  }
  fprintf(stderr, "impair: seen %llu dropped %llu delayed %llu reordered %llu overflow %llu\n", seen, dropped, delayed, reordered, overflow);
  nfq_destroy_queue(queue);
  nfq_close(h);
  return 0;
}
