package guard

import (
	"testing"

	"github.com/cilium/ebpf/btf"
)

// tracepoint makes the BTF a kernel has for a tracepoint's prototype:
// a typedef of a pointer to a function of (void *, params...).
func tracepoint(params ...btf.Type) *btf.Typedef {
	proto := &btf.FuncProto{Return: &btf.Void{}, Params: []btf.FuncParam{{Type: &btf.Pointer{Target: &btf.Void{}}}}}
	for _, p := range params {
		proto.Params = append(proto.Params, btf.FuncParam{Type: p})
	}
	return &btf.Typedef{Name: "btf_trace_io_uring_complete", Type: &btf.Pointer{Target: proto}}
}

// The two shapes of io_uring_complete, as Linux 6.18 and 6.12 have them,
// each match its own program and not the other's; one that passes no
// request (older kernels) matches none.
func TestIoUringCompleteShapes(t *testing.T) {
	ptr := func(name string) btf.Type { return &btf.Pointer{Target: &btf.Struct{Name: name}} }
	void := &btf.Pointer{Target: &btf.Void{}}
	u64 := &btf.Typedef{Name: "u64", Type: &btf.Int{Name: "long long unsigned int", Size: 8}}
	kernels := map[string]*btf.Typedef{
		"6.18": tracepoint(ptr("io_ring_ctx"), void, ptr("io_uring_cqe")),
		"6.12": tracepoint(void, void, u64, &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed},
			&btf.Int{Name: "unsigned int", Size: 4}, u64, u64),
		"no request": tracepoint(void, u64, &btf.Int{Name: "long int", Size: 8, Encoding: btf.Signed}, &btf.Int{Name: "unsigned int", Size: 4}),
	}
	want := map[string]string{"6.18": completeShapes[0].program, "6.12": completeShapes[1].program, "no request": ""}
	for kernel, td := range kernels {
		got := ""
		for _, shape := range completeShapes {
			if matches(td, shape.params) {
				if got != "" {
					t.Errorf("%s: both %s and %s match", kernel, got, shape.program)
				}
				got = shape.program
			}
		}
		if got != want[kernel] {
			t.Errorf("%s: program %q, want %q", kernel, got, want[kernel])
		}
	}
}
