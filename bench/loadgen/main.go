// Command loadgen drives an HTTPS server with N kept-alive HTTP/1.1 connections, presenting a
// client certificate, and prints one JSON line: requests, errors by status, rps, percentiles.
//
// It writes raw requests on tls.Conn and reads answers with http.ReadResponse, so the client
// costs little beside the server it measures. A body may carry "{{n}}", replaced by a counter
// unique within the run (CREATE needs fresh names).
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

type result struct {
	Requests    int64            `json:"requests"`
	Total       int64            `json:"total_requests"` // warm-up included, for CPU per request
	Errors      map[string]int64 `json:"errors"`
	Seconds     float64          `json:"seconds"`
	RPS         float64          `json:"rps"`
	P50         float64          `json:"p50_ms"`
	P90         float64          `json:"p90_ms"`
	P99         float64          `json:"p99_ms"`
	Connections int              `json:"connections"`
	Dials       int64            `json:"dials"` // TLS handshakes made: connections plus redials
}

type worker struct {
	latencies []time.Duration
	errors    map[string]int64
	requests  int64
	total     int64
	dials     int64
}

func main() {
	target := flag.String("url", "", "https URL to request")
	method := flag.String("method", "GET", "HTTP method")
	body := flag.String("body", "", "request body; {{n}} becomes a unique counter")
	certFile := flag.String("cert", "", "client certificate (PEM)")
	keyFile := flag.String("key", "", "client key (PEM)")
	caFile := flag.String("cacert", "", "CA bundle that signed the server certificate (PEM)")
	serverName := flag.String("server-name", "", "TLS server name (default: the URL host)")
	conns := flag.Int("c", 8, "connections")
	duration := flag.Duration("d", 8*time.Second, "measured duration")
	warmup := flag.Duration("warmup", time.Second, "unmeasured warm-up before the measurement")
	var extra headers
	flag.Var(&extra, "H", "extra header 'Name: value' (repeatable)")
	mode := flag.String("mode", "requests", "requests | watch (see watch.go)")
	watchers := flag.Int("watchers", 1000, "watch: watch streams")
	events := flag.Int("events", 100, "watch: creates, each one event for every watcher")
	interval := flag.Duration("interval", 20*time.Millisecond, "watch: between creates")
	pids := flag.String("cpu-pids", "", "watch: comma-separated server pids whose CPU is read")
	tag := flag.String("tag", "w", "watch: the created objects' name prefix (unique per run)")
	flag.Parse()

	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "https" {
		fail("-url must be an https URL: %v", err)
	}
	cfg := &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	if *serverName != "" {
		cfg.ServerName = *serverName
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fail("%v", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			fail("%s: no certificates", *caFile)
		}
	}
	if *certFile != "" {
		pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fail("%v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if *mode == "watch" {
		var lines strings.Builder
		for _, h := range extra {
			lines.WriteString(h + "\r\n")
		}
		var pidList []int
		for _, p := range strings.Split(*pids, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil {
				pidList = append(pidList, n)
			}
		}
		runWatch(watchConfig{url: u, tls: cfg, head: lines.String(), body: *body,
			watchers: *watchers, events: *events, interval: *interval, pids: pidList, tag: *tag})
		return
	}
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: aggapi-loadgen\r\nAccept: application/json\r\n", *method, u.RequestURI(), u.Host)
	for _, h := range extra {
		head.WriteString(h + "\r\n")
	}
	templated := strings.Contains(*body, "{{n}}")
	if *body != "" {
		head.WriteString("Content-Type: application/json\r\n")
	}
	var counter atomic.Int64
	request := func(buf *bytes.Buffer) {
		buf.Reset()
		buf.WriteString(head.String())
		if *body == "" {
			buf.WriteString("\r\n")
			return
		}
		b := *body
		if templated {
			b = strings.ReplaceAll(b, "{{n}}", strconv.FormatInt(counter.Add(1), 10))
		}
		fmt.Fprintf(buf, "Content-Length: %d\r\n\r\n%s", len(b), b)
	}

	var measuring atomic.Bool
	var stop atomic.Bool
	workers := make([]*worker, *conns)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{errors: map[string]int64{}, latencies: make([]time.Duration, 0, 1<<16)}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(u.Host, cfg, request, &measuring, &stop)
		}()
	}
	time.Sleep(*warmup)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(*duration)
	stop.Store(true)
	elapsed := time.Since(start).Seconds()
	wg.Wait()

	res := result{Errors: map[string]int64{}, Seconds: elapsed, Connections: *conns}
	var all []time.Duration
	for _, w := range workers {
		res.Requests += w.requests
		res.Total += w.total
		res.Dials += w.dials
		all = append(all, w.latencies...)
		for k, v := range w.errors {
			res.Errors[k] += v
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	res.RPS = float64(res.Requests) / elapsed
	res.P50, res.P90, res.P99 = pct(all, 0.50), pct(all, 0.90), pct(all, 0.99)
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

// run keeps one connection busy until stop, redialling after an error or a server close.
func (w *worker) run(host string, cfg *tls.Config, request func(*bytes.Buffer), measuring, stop *atomic.Bool) {
	var buf bytes.Buffer
	for !stop.Load() {
		conn, err := tls.Dial("tcp", host, cfg)
		w.dials++
		if err != nil {
			w.count(measuring, "dial: "+err.Error())
			time.Sleep(10 * time.Millisecond)
			continue
		}
		reader := bufio.NewReaderSize(conn, 64<<10)
		for !stop.Load() {
			request(&buf)
			t0 := time.Now()
			if _, err = conn.Write(buf.Bytes()); err != nil {
				break
			}
			resp, err := http.ReadResponse(reader, nil)
			if err != nil {
				break
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil {
				break
			}
			w.total++
			if measuring.Load() {
				w.latencies = append(w.latencies, time.Since(t0))
				w.requests++
				if resp.StatusCode >= 300 {
					w.errors[strconv.Itoa(resp.StatusCode)]++
				}
			}
			if resp.Close {
				break
			}
		}
		if err != nil && !stop.Load() {
			w.count(measuring, "conn: "+err.Error())
		}
		conn.Close()
	}
}

func (w *worker) count(measuring *atomic.Bool, what string) {
	if measuring.Load() {
		w.errors[what]++
	}
}

func pct(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(2)
}
