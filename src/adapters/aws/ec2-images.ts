import { type EC2Client, paginateDescribeImages } from '@aws-sdk/client-ec2';
import type { Image, ImageFilter } from '../../domain/ami/query.js';
import { rethrowAws } from './errors.js';

/** Every image matching the filters (all pages). */
export async function describeImages(
  ec2: EC2Client,
  owners: string[],
  filters: ImageFilter[],
): Promise<Image[]> {
  const images: Image[] = [];
  try {
    const pages = paginateDescribeImages(
      { client: ec2, pageSize: 1000 },
      { Owners: owners.length > 0 ? owners : undefined, Filters: filters },
    );
    for await (const page of pages) {
      for (const image of page.Images ?? []) {
        images.push({
          id: image.ImageId ?? '',
          name: image.Name ?? '',
          state: image.State ?? 'unknown',
          creationDate: image.CreationDate ?? '',
          architecture: image.Architecture ?? '',
          ownerId: image.OwnerId ?? '',
          tags: Object.fromEntries((image.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
        });
      }
    }
  } catch (error) {
    rethrowAws(error, 'listing AMIs (ec2:DescribeImages)', 'ec2:DescribeImages');
  }
  return images;
}
