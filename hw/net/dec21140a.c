/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * DEC/Intel 21140A Fast Ethernet PCI device, as Microsoft Virtual PC
 * emulated it: the PCI function, QOM properties, migration and the
 * network client.  The chip itself is in dec21140a_core.c.
 *
 *   -device dec21140a[,netdev=ID][,mac=MAC][,host-adapter=IFNAME|MAC]
 *                    [,subsys-vendor-id=N][,subsys-id=N]
 *
 * Without netdev= the card is "Not connected": the guest sees its cable
 * unplugged.  Without mac= the address is 00:03:ff:xx:xx:xx, derived from
 * a host adapter's address, the VM's -uuid or -name and the card's id, or
 * its PCI address when it has none (vpc_nic_default_mac() in
 * net/vpcnet/macaddr.h; build/vpcnet-mac prints it in advance).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "qemu/uuid.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/pci_bus.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "net/net.h"
#include "system/system.h"
#include "net/vpcnet/macaddr.h"
#include "dec21140a_core.h"
#include "trace.h"

#define TYPE_DEC21140A "dec21140a"
OBJECT_DECLARE_SIMPLE_TYPE(Dec21140aState, DEC21140A)

/* CFDA, the driver area: sleep and snooze bits, written by BSD de. */
#define PCI_CFDA                    0x40

struct Dec21140aState {
    PCIDevice parent_obj;

    Dec21140aCore core;
    MemoryRegion io;
    MemoryRegion mmio;
    NICConf conf;
    char *host_adapter;
    uint16_t subsys_vendor_id;
    uint16_t subsys_id;
};

static uint64_t dec21140a_bar_read(void *opaque, hwaddr addr, unsigned size)
{
    Dec21140aState *d = opaque;

    if (addr % DEC21140A_CSR_STRIDE) {
        /* CSRs sit on 8-byte boundaries; the gaps read as zero. */
        return 0;
    }
    return dec21140a_csr_read(&d->core, addr / DEC21140A_CSR_STRIDE);
}

static void dec21140a_bar_write(void *opaque, hwaddr addr, uint64_t val,
                                unsigned size)
{
    Dec21140aState *d = opaque;

    if (!(addr % DEC21140A_CSR_STRIDE)) {
        dec21140a_csr_write(&d->core, addr / DEC21140A_CSR_STRIDE, val);
    }
}

static const MemoryRegionOps dec21140a_bar_ops = {
    .read = dec21140a_bar_read,
    .write = dec21140a_bar_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
    .valid = {
        .min_access_size = 1,
        .max_access_size = 4,
    },
};

static bool dec21140a_nc_can_receive(NetClientState *nc)
{
    Dec21140aState *d = qemu_get_nic_opaque(nc);

    return dec21140a_can_receive(&d->core);
}

static ssize_t dec21140a_nc_receive(NetClientState *nc, const uint8_t *buf,
                                    size_t size)
{
    Dec21140aState *d = qemu_get_nic_opaque(nc);

    return dec21140a_receive(&d->core, buf, size);
}

/*
 * The cable is in when a netdev is attached and the link is up at both
 * ends.  QMP set_link names either end: the NIC's own id (what libvirt's
 * domif-setlink sends) sets only the NIC's link_down, the netdev's id
 * sets the netdev's and the NIC's; QEMU passes no frame through an end
 * whose link is down, so the guest sees the cable out while either is.
 * QEMU calls link_status_changed for the NIC either way.
 */
static bool dec21140a_cable_in(NetClientState *nc)
{
    return nc->peer && !nc->link_down && !nc->peer->link_down;
}

static void dec21140a_nc_link_status_changed(NetClientState *nc)
{
    Dec21140aState *d = qemu_get_nic_opaque(nc);

    dec21140a_core_set_link(&d->core, dec21140a_cable_in(nc));
}

static NetClientInfo dec21140a_net_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(NICState),
    .can_receive = dec21140a_nc_can_receive,
    .receive = dec21140a_nc_receive,
    .link_status_changed = dec21140a_nc_link_status_changed,
};

static bool dec21140a_mac_is_unset(const MACAddr *mac)
{
    static const MACAddr zero;

    return memcmp(mac->a, zero.a, sizeof(zero.a)) == 0;
}

typedef struct Dec21140aMacOwner {
    const uint8_t *mac;
    const char *owner;
} Dec21140aMacOwner;

static void dec21140a_find_mac_owner(NICState *nic, void *opaque)
{
    Dec21140aMacOwner *o = opaque;

    if (!o->owner && vpc_mac_equal(nic->conf->macaddr.a, o->mac)) {
        o->owner = nic->ncs[0].name;
    }
}

/*
 * Choose the default 00:03:ff:xx:xx:xx address when mac= was not given.
 * Only what the configuration names goes in (the VM, the host adapter,
 * the card's id or else its PCI address), never the order in which cards
 * were created, so hotplug and reordering keep every guest's address.
 */
static bool dec21140a_default_mac(Dec21140aState *d, Error **errp)
{
    PCIDevice *pci_dev = PCI_DEVICE(d);
    PCIBus *bus = pci_get_bus(pci_dev);
    g_autofree char *uuid = NULL;
    char key[VPC_MAC_NIC_KEY_MAX], err[256], text[VPC_MAC_STRLEN];
    Dec21140aMacOwner clash = { .mac = d->conf.macaddr.a };

    if (vpc_mac_nic_key(key, sizeof(key), DEVICE(d)->id,
                        pci_bus_is_root(bus) ? NULL : BUS(bus)->name,
                        PCI_SLOT(pci_dev->devfn),
                        PCI_FUNC(pci_dev->devfn)) < 0) {
        error_setg(errp, "dec21140a: its id or bus name is too long to "
                   "derive a MAC from; give mac=");
        return false;
    }
    if (qemu_uuid_set) {
        uuid = qemu_uuid_unparse_strdup(&qemu_uuid);
    }
    if (vpc_nic_default_mac(d->conf.macaddr.a, "/sys/class/net",
                            d->host_adapter, uuid, qemu_name, key,
                            err, sizeof(err)) < 0) {
        error_setg(errp, "dec21140a: %s", err);
        return false;
    }
    trace_dec21140a_default_mac(key, d->conf.macaddr.a[3],
                                d->conf.macaddr.a[4], d->conf.macaddr.a[5]);
    /* Two cards whose keys hash alike would share it: refuse. */
    qemu_foreach_nic(dec21140a_find_mac_owner, &clash);
    if (clash.owner) {
        vpc_mac_format(d->conf.macaddr.a, text);
        error_setg(errp, "dec21140a: the address derived for %s, %s, is "
                   "already the address of %s; give this card mac= or "
                   "another id", key, text, clash.owner);
        return false;
    }
    return true;
}

static void dec21140a_realize(PCIDevice *pci_dev, Error **errp)
{
    Dec21140aState *d = DEC21140A(pci_dev);
    DeviceState *dev = DEVICE(pci_dev);
    NetClientState *nc;

    if (dec21140a_mac_is_unset(&d->conf.macaddr) &&
        !dec21140a_default_mac(d, errp)) {
        return;
    }

    pci_set_word(pci_dev->config + PCI_SUBSYSTEM_VENDOR_ID,
                 d->subsys_vendor_id);
    pci_set_word(pci_dev->config + PCI_SUBSYSTEM_ID, d->subsys_id);
    pci_dev->config[PCI_INTERRUPT_PIN] = 1;
    /* CFDA is a plain read/write register for the driver. */
    pci_set_long(pci_dev->wmask + PCI_CFDA, 0xc000ff00);

    memory_region_init_io(&d->io, OBJECT(d), &dec21140a_bar_ops, d,
                          "dec21140a-io", DEC21140A_CSR_BAR_SIZE);
    memory_region_init_io(&d->mmio, OBJECT(d), &dec21140a_bar_ops, d,
                          "dec21140a-mmio", DEC21140A_CSR_BAR_SIZE);
    pci_register_bar(pci_dev, 0, PCI_BASE_ADDRESS_SPACE_IO, &d->io);
    pci_register_bar(pci_dev, 1, PCI_BASE_ADDRESS_SPACE_MEMORY, &d->mmio);

    dec21140a_core_init(&d->core, pci_dev);
    d->core.nic = qemu_new_nic(&dec21140a_net_info, &d->conf,
                               object_get_typename(OBJECT(d)), dev->id,
                               &dev->mem_reentrancy_guard, d);
    nc = qemu_get_queue(d->core.nic);
    qemu_format_nic_info_str(nc, d->conf.macaddr.a);
    dec21140a_core_build_srom(&d->core, d->conf.macaddr.a,
                              d->subsys_vendor_id, d->subsys_id);
    dec21140a_core_set_link(&d->core, dec21140a_cable_in(nc));
}

static void dec21140a_exit(PCIDevice *pci_dev)
{
    Dec21140aState *d = DEC21140A(pci_dev);

    qemu_del_nic(d->core.nic);
    dec21140a_core_cleanup(&d->core);
}

static void dec21140a_instance_init(Object *obj)
{
    Dec21140aState *d = DEC21140A(obj);

    device_add_bootindex_property(obj, &d->conf.bootindex, "bootindex",
                                  "/ethernet-phy@0", DEVICE(obj));
}

static void dec21140a_reset_hold(Object *obj, ResetType type)
{
    Dec21140aState *d = DEC21140A(obj);

    dec21140a_core_power_on(&d->core);
}

static int dec21140a_post_load(void *opaque, int version_id)
{
    Dec21140aState *d = opaque;

    /* The link follows the destination's netdev, not the source's. */
    d->core.link_up = dec21140a_cable_in(qemu_get_queue(d->core.nic));
    return 0;
}

static const VMStateDescription vmstate_dec21140a = {
    .name = "dec21140a",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = dec21140a_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, Dec21140aState),
        VMSTATE_MACADDR(conf.macaddr, Dec21140aState),
        VMSTATE_STRUCT(core, Dec21140aState, 1, vmstate_dec21140a_core,
                       Dec21140aCore),
        VMSTATE_END_OF_LIST()
    }
};

static const Property dec21140a_properties[] = {
    DEFINE_NIC_PROPERTIES(Dec21140aState, conf),
    DEFINE_PROP_STRING("host-adapter", Dec21140aState, host_adapter),
    DEFINE_PROP_UINT16("subsys-vendor-id", Dec21140aState, subsys_vendor_id,
                       DEC21140A_VPC_SUBSYS_VENDOR),
    DEFINE_PROP_UINT16("subsys-id", Dec21140aState, subsys_id,
                       DEC21140A_VPC_SUBSYS_ID),
};

static void dec21140a_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    k->realize = dec21140a_realize;
    k->exit = dec21140a_exit;
    k->vendor_id = PCI_VENDOR_ID_DEC;
    k->device_id = DEC21140A_DEVICE_ID;
    k->revision = DEC21140A_REVISION;
    k->class_id = PCI_CLASS_NETWORK_ETHERNET;
    dc->desc = "DEC/Intel 21140A Fast Ethernet (Virtual PC)";
    dc->vmsd = &vmstate_dec21140a;
    rc->phases.hold = dec21140a_reset_hold;
    device_class_set_props(dc, dec21140a_properties);
    set_bit(DEVICE_CATEGORY_NETWORK, dc->categories);
}

static const TypeInfo dec21140a_info = {
    .name          = TYPE_DEC21140A,
    .parent        = TYPE_PCI_DEVICE,
    .instance_size = sizeof(Dec21140aState),
    .class_init    = dec21140a_class_init,
    .instance_init = dec21140a_instance_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void dec21140a_register_types(void)
{
    type_register_static(&dec21140a_info);
}

type_init(dec21140a_register_types)
