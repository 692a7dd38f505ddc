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
- Every page of ours under docs/ is reachable from the toctrees of QEMU's
  manual as grafted (build/qemu-src/docs/index.rst down): Sphinx warns
  about a page in no toctree, and QEMU builds its manual with -W.

Prints TAP.
"""

import os
import fnmatch
import posixpath
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


def toctree_entries(text):
    """The entries of every toctree directive in @text, and whether each
    block globs: [(entry, glob)]."""
    entries = []
    lines = text.split('\n')
    i = 0
    while i < len(lines):
        if not re.match(r'\s*\.\. toctree::\s*$', lines[i]):
            i += 1
            continue
        indent = len(lines[i]) - len(lines[i].lstrip())
        block = []
        i += 1
        while i < len(lines) and (not lines[i].strip() or
                                  len(lines[i]) - len(lines[i].lstrip()) > indent):
            block.append(lines[i].strip())
            i += 1
        glob = ':glob:' in block
        for line in block:
            if not line or line.startswith(':'):
                continue
            m = re.match(r'.*<(.+)>$', line)        # "Title <target>"
            entries.append((m.group(1) if m else line, glob))
    return entries


def reachable_pages(docs):
    """The docnames (paths under @docs without .rst) that Sphinx reaches
    from index through toctrees."""
    seen, todo = set(), ['index']
    everything = None
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            with open(os.path.join(docs, name + '.rst')) as f:
                text = f.read()
        except OSError:
            continue                # a dangling entry reaches nothing
        seen.add(name)
        for entry, glob in toctree_entries(text):
            if entry.endswith('.rst'):
                entry = entry[:-4]
            base = '' if entry.startswith('/') else posixpath.dirname(name)
            target = posixpath.normpath(posixpath.join('/', base, entry.lstrip('/')))[1:]
            if glob and any(c in target for c in '*?['):
                if everything is None:
                    everything = [os.path.relpath(os.path.join(d, f), docs)[:-4]
                                  for d, _, files in os.walk(docs)
                                  for f in files if f.endswith('.rst')]
                todo += [n for n in everything if fnmatch.fnmatch(n, target)]
            else:
                todo.append(target)
    return seen


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

    docs = os.path.join(harness.build_dir(), 'qemu-src', 'docs')
    if not os.path.isfile(os.path.join(docs, 'index.rst')):
        tap.ok(False, 'a grafted QEMU manual in %s (make grafts it)' % docs)
    else:
        reached = reachable_pages(docs)
        ours = subprocess.run(['git', '-C', harness.REPO, 'ls-files', '--cached', '--others',
                               '--exclude-standard', 'docs/*.rst'],
                              stdout=subprocess.PIPE, text=True, check=True).stdout.split()
        tap.ok(len(ours) > 0, 'git lists our pages under docs/')
        for page in sorted(ours):
            tap.ok(page[len('docs/'):-len('.rst')] in reached,
                   '%s is in a toctree of the manual' % page)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
