#!/usr/bin/env python3
"""Packs this folder into a .vsix without npm, for machines that cannot reach the registry.

A .vsix is a zip holding [Content_Types].xml, extension.vsixmanifest and the extension's
files under extension/. `npx @vscode/vsce package` produces the same shape and is the
preferred tool when the npm registry is reachable; this script exists because the
extension has no dependencies, so nothing but the listed files needs to go in.

usage: package_vsix.py [OUTPUT.vsix]     (default: understudy-VERSION.vsix in this folder)
"""

import json
import os
import sys
import zipfile
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = ["package.json", "extension.js", "session.js", "convert.js", "lspClient.js", "instruct.js", "README.md"]

CONTENT_TYPES = """<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension=".json" ContentType="application/json"/>
  <Default Extension=".js" ContentType="application/javascript"/>
  <Default Extension=".md" ContentType="text/markdown"/>
  <Default Extension=".vsixmanifest" ContentType="text/xml"/>
</Types>
"""

MANIFEST = """<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011" xmlns:d="http://schemas.microsoft.com/developer/vsx-schema-design/2011">
  <Metadata>
    <Identity Language="en-US" Id="{name}" Version="{version}" Publisher="{publisher}"/>
    <DisplayName>{display}</DisplayName>
    <Description xml:space="preserve">{description}</Description>
    <Tags>{tags}</Tags>
    <Categories>{categories}</Categories>
    <GalleryFlags>Public</GalleryFlags>
    <Properties>
      <Property Id="Microsoft.VisualStudio.Code.Engine" Value="{engine}"/>
      <Property Id="Microsoft.VisualStudio.Code.ExtensionKind" Value="workspace"/>
    </Properties>
  </Metadata>
  <Installation>
    <InstallationTarget Id="Microsoft.VisualStudio.Code"/>
  </Installation>
  <Dependencies/>
  <Assets>
    <Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true"/>
    <Asset Type="Microsoft.VisualStudio.Services.Content.Details" Path="extension/README.md" Addressable="true"/>
  </Assets>
</PackageManifest>
"""


def main():
    with open(os.path.join(HERE, "package.json"), encoding="utf-8") as f:
        pkg = json.load(f)
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "%s-%s.vsix" % (pkg["name"], pkg["version"]))
    manifest = MANIFEST.format(
        name=escape(pkg["name"]),
        version=escape(pkg["version"]),
        publisher=escape(pkg["publisher"]),
        display=escape(pkg.get("displayName", pkg["name"])),
        description=escape(pkg.get("description", "")),
        tags=escape(",".join(pkg.get("keywords", []))),
        categories=escape(",".join(pkg.get("categories", []))),
        engine=escape(pkg["engines"]["vscode"]),
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("extension.vsixmanifest", manifest)
        for name in FILES:
            z.write(os.path.join(HERE, name), "extension/" + name)
    print(out)


if __name__ == "__main__":
    main()
