package main

// Watch fan-out (-mode=watch): N watch streams on a collection, then M creates one after
// another; each event's delivery delay is its receive time minus its create's send time. The
// server's CPU (utime+stime of -cpu-pids from /proc) is read from just before the first
// create to the last delivery, so the watchers' TLS handshakes and setup are not in it.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
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

type watchResult struct {
	Watchers       int              `json:"watchers"`
	Events         int              `json:"events"`
	Delivered      int64            `json:"delivered"`
	Expected       int64            `json:"expected"`
	Errors         map[string]int64 `json:"errors"`
	P50            float64          `json:"p50_ms"`
	P90            float64          `json:"p90_ms"`
	P99            float64          `json:"p99_ms"`
	Max            float64          `json:"max_ms"`
	CreateP50      float64          `json:"create_p50_ms"`
	Seconds        float64          `json:"seconds"`
	ServerCPU      float64          `json:"server_cpu_s"`
	CPUPerEventUS  float64          `json:"cpu_per_event_us"`
	TotalRequests  int64            `json:"total_requests"` // deliveries, for CPU per unit
	RPS            float64          `json:"rps"`            // deliveries per second
	SetupSeconds   float64          `json:"setup_seconds"`
	DialsPerSecond float64          `json:"dials_per_second"`
}

type watchConfig struct {
	url      *url.URL
	tls      *tls.Config
	head     string // extra header lines, each ending in \r\n
	body     string // create body with {{n}}
	watchers int
	events   int
	interval time.Duration
	pids     []int
	tag      string
}

// cpuSeconds is utime+stime of the given pids, from /proc/<pid>/stat.
func cpuSeconds(pids []int) float64 {
	var ticks int64
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(raw)
		fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
		u, _ := strconv.ParseInt(fields[11], 10, 64)
		k, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += u + k
	}
	return float64(ticks) / 100 // USER_HZ
}

func roundTrip(conn *tls.Conn, reader *bufio.Reader, request string) (int, []byte, error) {
	if _, err := io.WriteString(conn, request); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(reader, nil)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func runWatch(cfg watchConfig) {
	host, path := cfg.url.Host, cfg.url.Path
	get := func(query string) string {
		return fmt.Sprintf("GET %s?%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: aggapi-loadgen\r\nAccept: application/json\r\n%s\r\n", path, query, host, cfg.head)
	}
	// the list's resourceVersion: every watch starts there, so no event is missed or repeated
	conn, err := tls.Dial("tcp", host, cfg.tls)
	if err != nil {
		fail("dial: %v", err)
	}
	reader := bufio.NewReaderSize(conn, 64<<10)
	status, data, err := roundTrip(conn, reader, get("limit=1"))
	if err != nil || status != 200 {
		fail("list: %d %v %s", status, err, data)
	}
	var listed struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &listed); err != nil {
		fail("list: %v", err)
	}
	sent := make([]atomic.Int64, cfg.events) // create i: when its request was written (ns)
	prefix := []byte(`"name":"` + cfg.tag + "-")
	var errMu sync.Mutex
	errs := map[string]int64{}
	count := func(what string) { errMu.Lock(); errs[what]++; errMu.Unlock() }
	latencies := make([][]time.Duration, cfg.watchers)
	var delivered atomic.Int64
	var established, finished sync.WaitGroup
	setup := time.Now()
	allDone := make(chan struct{})
	var lastDelivery atomic.Int64
	expected := int64(cfg.watchers * cfg.events)
	established.Add(cfg.watchers)
	finished.Add(cfg.watchers)
	query := "watch=true&resourceVersion=" + listed.Metadata.ResourceVersion
	var dials atomic.Int64
	for i := 0; i < cfg.watchers; i++ {
		go func(i int) {
			defer finished.Done()
			ready := false
			defer func() {
				if !ready {
					established.Done()
				}
			}()
			var c *tls.Conn
			var err error
			for attempt := 0; attempt < 20; attempt++ { // a burst of handshakes may be refused
				dials.Add(1)
				if c, err = tls.Dial("tcp", host, cfg.tls); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				count("dial: " + err.Error())
				return
			}
			defer c.Close()
			r := bufio.NewReaderSize(c, 64<<10)
			if _, err := io.WriteString(c, get(query)); err != nil {
				count("write: " + err.Error())
				return
			}
			resp, err := http.ReadResponse(r, nil)
			if err != nil || resp.StatusCode != 200 {
				count(fmt.Sprintf("watch: %v %v", err, resp))
				return
			}
			ready = true
			established.Done()
			lines := bufio.NewReaderSize(resp.Body, 64<<10)
			got := make([]time.Duration, 0, cfg.events)
			seen := make([]bool, cfg.events)
		read:
			for len(got) < cfg.events {
				line, err := lines.ReadSlice('\n')
				for err == bufio.ErrBufferFull { // a line longer than the buffer: not ours
					line, err = lines.ReadSlice('\n')
					line = nil
				}
				if err != nil {
					select {
					case <-allDone:
					default:
						count("read: " + err.Error())
					}
					break read
				}
				now := time.Now()
				at := bytes.Index(line, prefix)
				if at < 0 || !bytes.HasPrefix(line, []byte(`{"type":"ADDED"`)) {
					continue
				}
				rest := line[at+len(prefix):]
				end := bytes.IndexByte(rest, '"')
				n, err := strconv.Atoi(string(rest[:end]))
				if err != nil || n < 0 || n >= cfg.events || seen[n] {
					continue
				}
				seen[n] = true
				if t := sent[n].Load(); t != 0 {
					got = append(got, now.Sub(time.Unix(0, t)))
				}
				lastDelivery.Store(now.UnixNano())
				if delivered.Add(1) == expected {
					close(allDone)
				}
			}
			latencies[i] = got
		}(i)
	}
	established.Wait()
	setupSeconds := time.Since(setup).Seconds()
	time.Sleep(time.Second) // every stream subscribed server-side, the setup's CPU settled

	// creates, one after another on one connection, `interval` apart
	cpu0 := cpuSeconds(cfg.pids)
	start := time.Now()
	createLat := make([]time.Duration, 0, cfg.events)
	for n := 0; n < cfg.events; n++ {
		body := strings.ReplaceAll(cfg.body, "{{n}}", cfg.tag+"-"+strconv.Itoa(n))
		request := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: aggapi-loadgen\r\nAccept: application/json\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s", path, host, cfg.head, len(body), body)
		t0 := time.Now()
		sent[n].Store(t0.UnixNano())
		status, data, err := roundTrip(conn, reader, request)
		createLat = append(createLat, time.Since(t0))
		if err != nil || status != 201 {
			fail("create %d: %d %v %s", n, status, err, data)
		}
		if wait := cfg.interval - time.Since(t0); wait > 0 {
			time.Sleep(wait)
		}
	}
	select {
	case <-allDone:
	case <-time.After(60 * time.Second):
		count("timeout: not every event delivered within 60 s")
	}
	end := time.Now()
	if t := lastDelivery.Load(); t != 0 {
		end = time.Unix(0, t)
	}
	cpu := cpuSeconds(cfg.pids) - cpu0
	conn.Close()

	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	sort.Slice(createLat, func(i, j int) bool { return createLat[i] < createLat[j] })
	res := watchResult{Watchers: cfg.watchers, Events: cfg.events, Delivered: delivered.Load(),
		Expected: expected, Errors: errs, Seconds: end.Sub(start).Seconds(), ServerCPU: cpu,
		SetupSeconds: setupSeconds}
	res.P50, res.P90, res.P99 = pct(all, 0.50), pct(all, 0.90), pct(all, 0.99)
	if len(all) > 0 {
		res.Max = float64(all[len(all)-1].Microseconds()) / 1000
	}
	res.CreateP50 = pct(createLat, 0.50)
	res.TotalRequests = res.Delivered
	if res.Delivered > 0 {
		res.CPUPerEventUS = cpu / float64(res.Delivered) * 1e6
		res.RPS = float64(res.Delivered) / res.Seconds
	}
	res.DialsPerSecond = float64(dials.Load()) / setupSeconds
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	os.Exit(0) // the watch streams are left to the exit
}
