module github.com/sigguard/sigguard

go 1.26.0

require (
	github.com/cilium/ebpf v0.22.0
	golang.org/x/sys v0.50.0
)

require github.com/spf13/pflag v1.0.10

require gopkg.in/yaml.v3 v3.0.1

tool github.com/cilium/ebpf/cmd/bpf2go
