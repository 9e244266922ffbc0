import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageArchiveKind, imageArchiveSource, type ImageArchiveKind } from '../../src/agent/containers/core/image-archive.ts';

test('image archives: the kind by content — docker save has manifest.json, an OCI layout oci-layout and index.json', async (t) => {
  const cases: Array<[names: string[], expected: ImageArchiveKind | undefined]> = [
    [['manifest.json', 'abc/layer.tar', 'abc.json'], 'docker-archive'],
    [['./manifest.json', './repositories'], 'docker-archive'],
    [['oci-layout', 'index.json', 'blobs/', 'blobs/sha256/aa'], 'oci-archive'],
    [['oci-layout', 'index.json', 'manifest.json'], 'oci-archive'],
    [['oci-layout', 'blobs/'], undefined],
    [['app/manifest.json', 'app/bin/run'], undefined],
    [[], undefined],
  ];
  for (const [names, expected] of cases) await t.test(names.join(' ') || '(empty)', () => assert.equal(imageArchiveKind(names), expected));
});

test('image archives: the skopeo source of the image, when the archive holds it', async (t) => {
  const docker = (...repoTags: Array<string[] | undefined>): unknown => repoTags.map((tags) => ({ Config: 'c.json', Layers: ['l.tar'], ...(tags !== undefined ? { RepoTags: tags } : {}) }));
  const oci = (...names: Array<string | undefined>): unknown => ({ schemaVersion: 2, manifests: names.map((name) => ({ digest: 'sha256:00', ...(name !== undefined ? { annotations: { 'org.opencontainers.image.ref.name': name } } : {}) })) });
  const F = '/w/sandboxes/t1/img.tar';
  const cases: Array<[name: string, kind: ImageArchiveKind, metadata: unknown, image: string, expected: string | undefined]> = [
    ['docker: the RepoTag as written', 'docker-archive', docker(['corral/web:v1']), 'corral/web:v1', `docker-archive:${F}:corral/web:v1`],
    ['docker: Docker Hub names are the same image', 'docker-archive', docker(['docker.io/library/busybox:1.36']), 'busybox:1.36', `docker-archive:${F}:docker.io/library/busybox:1.36`],
    ['docker: no tag is latest', 'docker-archive', docker(['web:latest']), 'web', `docker-archive:${F}:web:latest`],
    ['docker: the second image of two', 'docker-archive', docker(['a:1'], ['reg.example.com:5000/b:2']), 'reg.example.com:5000/b:2', `docker-archive:${F}:reg.example.com:5000/b:2`],
    ['docker: another tag', 'docker-archive', docker(['web:v1']), 'web:v2', undefined],
    ['docker: one image with no name', 'docker-archive', docker(undefined), 'web:v1', `docker-archive:${F}`],
    ['docker: two images, none named so', 'docker-archive', docker(['a:1'], undefined), 'web:v1', undefined],
    ['docker: not a manifest list', 'docker-archive', { RepoTags: ['web:v1'] }, 'web:v1', undefined],
    ['oci: the ref name is the tag', 'oci-archive', oci('v1'), '127.0.0.1:5000/corral/busybox:v1', `oci-archive:${F}:v1`],
    ['oci: the ref name is the full name', 'oci-archive', oci('other', 'docker.io/library/busybox:v1'), 'busybox:v1', `oci-archive:${F}:docker.io/library/busybox:v1`],
    ['oci: one manifest with no name', 'oci-archive', oci(undefined), 'web:v1', `oci-archive:${F}`],
    ['oci: another name', 'oci-archive', oci('v2'), 'web:v1', undefined],
    ['oci: no manifests', 'oci-archive', {}, 'web:v1', undefined],
    ['a digest-only image is never from an archive', 'oci-archive', oci(undefined), `web@sha256:${'a'.repeat(64)}`, undefined],
    ['a path with a colon (skopeo could not split it)', 'docker-archive', docker(['web:v1']), 'web:v1', undefined],
  ];
  for (const [name, kind, metadata, image, expected] of cases) {
    await t.test(name, () => assert.equal(imageArchiveSource(kind, metadata, image, name.includes('colon') ? '/w/a:b/img.tar' : F), expected));
  }
});
