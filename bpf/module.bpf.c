// SPDX-License-Identifier: GPL-2.0
/*
 * kernel.module: deny module loading. Three hooks cover every way in:
 * kernel_module_request (request_module autoload), kernel_load_data with
 * LOADING_MODULE (init_module) and kernel_read_file with READING_MODULE
 * (finit_module). There is no fallback: without BPF LSM this gate is
 * reported unavailable.
 *
 * The same two hooks see a kernel loaded for kexec (kexec_load:
 * kernel_load_data LOADING_KEXEC_IMAGE; kexec_file_load: kernel_read_file
 * READING_KEXEC_IMAGE, then READING_KEXEC_INITRAMFS): a kernel booted by
 * reboot(LINUX_REBOOT_CMD_KEXEC) would run without govgate. Those are
 * decided by the slot's kexec verdict, which has rules of its own.
 */
#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GG_SLOTS);
	__type(key, __u32);
	__type(value, struct gg_module_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} module_policy SEC(".maps");

GG_ASSERT_PINNED(module_policy, GG_MAP_MODULE_POLICY);

static __always_inline int gg_module_decide(__u32 source, const char *name, bool kexec)
{
	__u32 action = GG_ACT_NONE, entries[GG_MAX_HITS] = {}, slot, flags;
	struct gg_module_val *mv;
	struct gg_event *e;
	__u64 generation;

	if (!gg_task_in_scope())
		return 0;
	slot = gg_active_slot(&generation);
	mv = bpf_map_lookup_elem(&module_policy, &slot);
	if (mv)
		gg_hit(kexec ? &mv->kexec : &mv->verdict, &action, entries, 0);
	flags = gg_check_slot(slot, generation, &action, entries);
	e = gg_decide(GG_GATE_MODULE, action);
	if (e) {
		gg_event_fill(e, GG_GATE_MODULE, action, GG_MECH_LSM, generation, entries, flags);
		e->module.source = source;
		e->module.name[0] = '\0';
		if (name)
			bpf_probe_read_kernel_str(e->module.name, sizeof(e->module.name), name);
		bpf_ringbuf_submit(e, 0);
	}
	return action == GG_ACT_DENY ? -EPERM : 0;
}

SEC("lsm/kernel_module_request")
int BPF_PROG(gg_module_request, char *kmod_name, int ret)
{
	if (ret != 0)
		return ret;
	return gg_module_decide(GG_MOD_REQUEST, kmod_name, false);
}

SEC("lsm/kernel_load_data")
int BPF_PROG(gg_module_load_data, enum kernel_load_data_id id, bool contents, int ret)
{
	if (ret != 0)
		return ret;
	if (id == bpf_core_enum_value(enum kernel_load_data_id, LOADING_KEXEC_IMAGE))
		return gg_module_decide(GG_MOD_KEXEC_LOAD, NULL, true);
	if (id != bpf_core_enum_value(enum kernel_load_data_id, LOADING_MODULE))
		return 0;
	return gg_module_decide(GG_MOD_LOAD_DATA, NULL, false);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(gg_module_read_file, struct file *file, enum kernel_read_file_id id, bool contents,
	     int ret)
{
	const char *name;
	__u32 source;

	if (ret != 0)
		return ret;
	if (id == bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE))
		source = GG_MOD_READ_FILE;
	else if (id == bpf_core_enum_value(enum kernel_read_file_id, READING_KEXEC_IMAGE))
		source = GG_MOD_KEXEC_IMAGE;
	else if (id == bpf_core_enum_value(enum kernel_read_file_id, READING_KEXEC_INITRAMFS))
		source = GG_MOD_KEXEC_INITRAMFS;
	else
		return 0;
	name = (const char *)BPF_CORE_READ(file, f_path.dentry, d_name.name);
	return gg_module_decide(source, name, source != GG_MOD_READ_FILE);
}

GG_ASSERT_PINNED(gg_module_request, GG_PROG_MODULE_REQUEST);
GG_ASSERT_PINNED(gg_module_load_data, GG_PROG_MODULE_LOAD_DATA);
GG_ASSERT_PINNED(gg_module_read_file, GG_PROG_MODULE_READ_FILE);
