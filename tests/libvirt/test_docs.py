#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/system/libvirt.rst shows the very files the tests define.

- Every ".. vpcnet-xml: NAME" comment in the page is followed by a
  code block holding tests/libvirt/xml/NAME exactly, and every file in
  tests/libvirt/xml/ is shown.
- Every domain file is well-formed, has <features><acpi/></features>,
  names the installed emulator /usr/local/bin/qemu-system-x86_64, and
  has no comment text libvirt would reject ("--" inside a comment).
- The page's vpcnet-mac example prints what it says, and xml/vpc-mac.xml
  holds that example's UUID and address.

Prints TAP.
"""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness                                    # noqa: E402
from tap import Tap                               # noqa: E402

PAGE = os.path.join(harness.REPO, 'docs', 'system', 'libvirt.rst')


def shown_blocks(text):
    """{name: the code block after its ".. vpcnet-xml: name" comment}."""
    blocks = {}
    lines = text.split('\n')
    for i, line in enumerate(lines):
        m = re.match(r'\.\. vpcnet-xml: (\S+)$', line)
        if not m:
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith('.. code-block:: xml'):
            j += 1
        body = []
        for line in lines[j + 1:]:
            if line and not line.startswith('   '):
                break
            body.append(line[3:])
        blocks[m.group(1)] = '\n'.join(body).strip('\n') + '\n'
    return blocks


def main():
    tap = Tap()
    with open(PAGE) as f:
        page = f.read()
    blocks = shown_blocks(page)
    files = sorted(n for n in os.listdir(harness.XML_DIR) if n.endswith('.xml'))
    tap.equal(sorted(blocks), files, 'libvirt.rst shows every file of tests/libvirt/xml')
    for name in files:
        with open(os.path.join(harness.XML_DIR, name)) as f:
            text = f.read()
        tap.ok(blocks.get(name) == text, 'libvirt.rst shows %s as it is' % name)
        try:
            root = ET.fromstring(text)
        except ET.ParseError as e:
            tap.ok(False, '%s is well-formed XML' % name, detail=str(e))
            continue
        comments_ok = all('--' not in c for c in re.findall(r'<!--(.*?)-->', text, re.S))
        if root.tag != 'domain':
            tap.ok(comments_ok, '%s: a device, its comments valid' % name)
            continue
        emulator = root.find('./devices/emulator')
        tap.ok(root.find('./features/acpi') is not None and emulator is not None and
               emulator.text == '/usr/local/bin/qemu-system-x86_64' and comments_ok,
               '%s: <acpi/>, the installed emulator, valid comments' % name)

    m = re.search(r'^\s*\$ (vpcnet-mac .*)\n\s*(00:03:ff:\S+)$', page, re.M)
    tool = os.environ.get('VPCNET_MAC') or os.path.join(harness.build_dir(), 'vpcnet-mac')
    if not m:
        tap.ok(False, 'libvirt.rst has a vpcnet-mac example')
    else:
        argv = m.group(1).split()
        try:
            out = subprocess.run([tool] + argv[1:], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True).stdout.strip()
        except OSError as e:
            out = '%s: %s' % (tool, e.strerror)
        tap.equal(out, m.group(2), 'the vpcnet-mac example prints what libvirt.rst says')
        root = ET.parse(os.path.join(harness.XML_DIR, 'vpc-mac.xml')).getroot()
        uuid = argv[argv.index('--uuid') + 1] if '--uuid' in argv else None
        tap.ok(root.find('uuid').text == uuid and
               root.find('./devices/interface/mac').get('address') == m.group(2),
               "vpc-mac.xml holds the example's UUID and address")
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
