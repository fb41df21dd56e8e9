module modelship.dev/bench/loadgen

go 1.21
