// loadgen: a closed-loop HTTP load generator for bench/server. Each of -c connections sends the same POST body
// back to back for -d after a -warmup, and the tool prints one JSON object: requests, errors, rates and
// latency percentiles. Written in Go (standard library only) so that, pinned to its own core, it is not the
// bottleneck of the Node servers it measures. With -pid it also reads the server's CPU time (all its threads,
// from /proc) at the start and the end of the measured window, and its own, so the CPU cost per request of both
// sides is known even on a machine shared with other work.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ",") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

type result struct {
	Connections int            `json:"connections"`
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	Seconds     float64        `json:"seconds"`
	RequestsPS  float64        `json:"requestsPerSecond"`
	P50Ms       float64        `json:"p50Ms"`
	P99Ms       float64        `json:"p99Ms"`
	Statuses    map[string]int `json:"statuses"`
	FirstError  string         `json:"firstError,omitempty"`
	// CPU seconds the server (-pid) and this load generator used during the measured window; 0 without -pid.
	ServerCPUSeconds  float64 `json:"serverCpuSeconds"`
	LoadgenCPUSeconds float64 `json:"loadgenCpuSeconds"`
}

// cpuSeconds is the CPU time of a process, all its threads, or -1 when it cannot be read: the sum of the threads'
// run times in /proc/<pid>/task/*/schedstat (nanoseconds, exact), else utime + stime from /proc/<pid>/stat
// (clock ticks, sampled: biased for a process that runs briefly many times a second).
func cpuSeconds(pid int) float64 {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err == nil {
		total := 0.0
		for _, t := range tasks {
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
			if err != nil {
				total = -1
				break
			}
			var ns float64
			if _, err := fmt.Sscan(string(raw), &ns); err != nil {
				total = -1
				break
			}
			total += ns / 1e9
		}
		if total >= 0 {
			return total
		}
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
	text := string(raw)
	fields := strings.Fields(text[strings.LastIndexByte(text, ')')+1:])
	if len(fields) < 13 {
		return -1
	}
	var utime, stime float64
	if _, err := fmt.Sscan(fields[11], &utime); err != nil {
		return -1
	}
	if _, err := fmt.Sscan(fields[12], &stime); err != nil {
		return -1
	}
	// USER_HZ: 100 on every Linux architecture Go supports (reading it through sysconf would need cgo).
	return (utime + stime) / 100
}

func main() {
	url := flag.String("url", "", "target URL")
	bodyFile := flag.String("body", "", "file with the request body")
	conns := flag.Int("c", 1, "concurrent connections")
	duration := flag.Duration("d", 5*time.Second, "measured duration")
	warmup := flag.Duration("warmup", time.Second, "unmeasured warm-up")
	var hdrs headers
	flag.Var(&hdrs, "H", "header 'Name: value' (repeatable)")
	pid := flag.Int("pid", 0, "server process whose CPU time to report (0: none)")
	flag.Parse()
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	var measuring atomic.Bool
	var stop atomic.Bool
	var mu sync.Mutex
	latencies := make([]time.Duration, 0, 1<<20)
	statuses := map[string]int{}
	errors := 0
	firstError := ""
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			localStatuses := map[string]int{}
			localErrors := 0
			localFirst := ""
			for !stop.Load() {
				req, _ := http.NewRequest("POST", *url, bytes.NewReader(body))
				for _, h := range hdrs {
					k, v, _ := strings.Cut(h, ":")
					req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
				}
				start := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				elapsed := time.Since(start)
				if !measuring.Load() {
					continue
				}
				if err != nil {
					localErrors++
					if localFirst == "" {
						localFirst = err.Error()
					}
					continue
				}
				localStatuses[fmt.Sprint(resp.StatusCode)]++
				if resp.StatusCode != 200 {
					localErrors++
					continue
				}
				local = append(local, elapsed)
			}
			mu.Lock()
			latencies = append(latencies, local...)
			for k, v := range localStatuses {
				statuses[k] += v
			}
			errors += localErrors
			if firstError == "" {
				firstError = localFirst
			}
			mu.Unlock()
		}()
	}
	time.Sleep(*warmup)
	serverBefore, selfBefore := -1.0, cpuSeconds(os.Getpid())
	if *pid > 0 {
		serverBefore = cpuSeconds(*pid)
	}
	measuring.Store(true)
	began := time.Now()
	time.Sleep(*duration)
	measuring.Store(false)
	seconds := time.Since(began).Seconds()
	serverCPU, selfCPU := 0.0, 0.0
	if *pid > 0 && serverBefore >= 0 {
		if after := cpuSeconds(*pid); after >= 0 {
			serverCPU = after - serverBefore
		}
		if after := cpuSeconds(os.Getpid()); after >= 0 && selfBefore >= 0 {
			selfCPU = after - selfBefore
		}
	}
	stop.Store(true)
	wg.Wait()

	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		i := int(p * float64(len(latencies)-1))
		return float64(latencies[i].Microseconds()) / 1000
	}
	out := result{
		Connections: *conns, Requests: len(latencies), Errors: errors, Seconds: seconds,
		RequestsPS: float64(len(latencies)) / seconds, P50Ms: pct(0.50), P99Ms: pct(0.99),
		Statuses: statuses, FirstError: firstError,
		ServerCPUSeconds: serverCPU, LoadgenCPUSeconds: selfCPU,
	}
	enc := json.NewEncoder(os.Stdout)
	_ = enc.Encode(out)
}
