// grpc-sum: make bench's closed-loop gRPC load (proof/src/load-generators.ts runs it). It costs the
// machine less CPU per call than ghz (measured: 0.037 CPU-s per 1,000 calls, ghz 0.056 with one CPU
// and 0.09 with two: no dynamic messages, no per-call report), checks every answer against its own
// a + b (ghz sends one fixed message and shows no answers), and stops each caller at the deadline
// only after its answer, so no call is in flight at the end and the running total can be checked
// exactly.
//
//	grpc-sum -target 127.0.0.1:50051 -c 64 -deadline 1796349185.5
//
// -source sets the local address it connects from: make bench-cost-attack's normal callers come
// from 127.0.0.2, another client address than its flood's, as nginx limits calls per address. It
// may list several (127.0.0.1,127.0.0.2): make bench calls through nginx from several addresses,
// as many clients would, since nginx holds each address to its rate.
//
// -target may list several servers (a,b,c): one connection to each, the callers spread over them in
// turn, which is how make bench measures Service A's instances without nginx in between. With
// several sources too, there is one connection from each source to each server.
//
// It prints one JSON line: acked, wrong, sum (of the acknowledged results), last (when the last
// answer came, epoch seconds), failures by gRPC status, and the latency percentiles in milliseconds
// (null when nothing was answered).
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

const method = "/summation.SummationService/CalculateSum"

// rawCodec sends and receives the protobuf bytes as they are: the two messages are small enough to
// write and read by hand, which spares the per-call reflection of a generic client.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// request encodes SummationRequest{a, b}: fields 1 and 2, int64 varints.
func request(buf []byte, a, b int64) []byte {
	buf = append(buf[:0], 0x08)
	buf = binary.AppendUvarint(buf, uint64(a))
	buf = append(buf, 0x10)
	return binary.AppendUvarint(buf, uint64(b))
}

// result reads field 1 (int64 result) of SummationResponse, skipping the string fields.
func result(msg []byte) (int64, error) {
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return 0, errors.New("bad field key")
		}
		msg = msg[n:]
		switch key & 7 {
		case 0:
			v, m := binary.Uvarint(msg)
			if m <= 0 {
				return 0, errors.New("bad varint")
			}
			if key>>3 == 1 {
				return int64(v), nil
			}
			msg = msg[m:]
		case 2:
			l, m := binary.Uvarint(msg)
			if m <= 0 || uint64(len(msg)-m) < l {
				return 0, errors.New("bad length")
			}
			msg = msg[m+int(l):]
		default:
			return 0, fmt.Errorf("unexpected wire type %d", key&7)
		}
	}
	return 0, nil // proto3: a result of 0 is not sent
}

type caller struct {
	acked, wrong int
	sum          int64
	last         time.Time
	failures     map[string]int
	latencies    []time.Duration
}

func (c *caller) run(conn *grpc.ClientConn, deadline time.Time, timeout time.Duration) {
	c.failures = map[string]int{}
	var req, resp []byte
	for time.Now().Before(deadline) {
		a, b := rand.Int64N(2_000_001)-1_000_000, rand.Int64N(2_000_001)-1_000_000
		req = request(req, a, b)
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		start := time.Now()
		err := conn.Invoke(ctx, method, &req, &resp)
		c.last = time.Now()
		cancel()
		if err != nil {
			c.failures["gRPC "+status.Code(err).String()]++
			continue
		}
		c.latencies = append(c.latencies, c.last.Sub(start))
		got, err := result(resp)
		c.acked++
		c.sum += got
		if err != nil || got != a+b {
			c.wrong++
		}
	}
}

func main() {
	target := flag.String("target", "127.0.0.1:50051", "host:port of the gRPC server; several, comma-separated, get a connection each")
	callers := flag.Int("c", 16, "callers at once, each with one call in flight")
	deadlineArg := flag.String("deadline", "", "when to stop, in epoch seconds")
	timeout := flag.Duration("timeout", 30*time.Second, "each call's deadline")
	sources := flag.String("source", "", "the local addresses to connect from, comma-separated (127.0.0.2: another client address to a server on 127.0.0.1)")
	flag.Parse()
	seconds, err := strconv.ParseFloat(*deadlineArg, 64)
	if err != nil || *callers < 1 {
		fmt.Fprintln(os.Stderr, "usage: grpc-sum -target host:port -c callers -deadline epoch-seconds")
		os.Exit(2)
	}
	// One OS thread: a closed loop on one connection needs no more, and more threads only contend
	// with the system under test for the machine's cores (measured: 0.068 CPU-s per 1,000 calls with
	// one thread per core on two cores, 0.037 with one).
	runtime.GOMAXPROCS(1)
	whole, frac := math.Modf(seconds)
	deadline := time.Unix(int64(whole), int64(frac*1e9))

	// One connection from each source to each server for all its callers, as one grpc-js client has.
	var conns []*grpc.ClientConn
	for _, source := range strings.Split(*sources, ",") {
		source = strings.TrimSpace(source)
		if source != "" && net.ParseIP(source) == nil {
			fmt.Fprintf(os.Stderr, "-source: %q is not an IP address\n", source)
			os.Exit(2)
		}
		for _, server := range strings.Split(*target, ",") {
			options := []grpc.DialOption{
				grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})),
			}
			if source != "" {
				dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
				options = append(options, grpc.WithContextDialer(func(ctx context.Context, address string) (net.Conn, error) {
					return dialer.DialContext(ctx, "tcp", address)
				}))
			}
			conn, err := grpc.NewClient(strings.TrimSpace(server), options...)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			defer conn.Close()
			conns = append(conns, conn)
		}
	}

	all := make([]caller, *callers)
	var wg sync.WaitGroup
	for i := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			all[i].run(conns[i%len(conns)], deadline, *timeout)
		}()
	}
	wg.Wait()

	out := struct {
		Acked    int            `json:"acked"`
		Wrong    int            `json:"wrong"`
		Sum      string         `json:"sum"`
		Last     float64        `json:"last"`
		Failures map[string]int `json:"failures"`
		P50      *float64       `json:"p50"`
		P99      *float64       `json:"p99"`
		P999     *float64       `json:"p999"`
	}{Failures: map[string]int{}}
	var sum int64
	var latencies []time.Duration
	var last time.Time
	for _, c := range all {
		out.Acked += c.acked
		out.Wrong += c.wrong
		sum += c.sum
		if c.last.After(last) {
			last = c.last
		}
		for reason, n := range c.failures {
			out.Failures[reason] += n
		}
		latencies = append(latencies, c.latencies...)
	}
	out.Sum = strconv.FormatInt(sum, 10)
	out.Last = float64(last.UnixNano()) / 1e9
	slices.Sort(latencies)
	// null when no call was answered
	percentile := func(p float64) *float64 {
		if len(latencies) == 0 {
			return nil
		}
		ms := float64(latencies[int(math.Ceil(p/100*float64(len(latencies))))-1]) / 1e6
		return &ms
	}
	out.P50, out.P99, out.P999 = percentile(50), percentile(99), percentile(99.9)
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}
